"""Plans through the folder cache: what a re-plan costs, and the same answers as a full read.

The Hypothesis property edits the folder in Outlook's place (adds, updates, deletes, moves out)
between plans and checks the plan made through the cache and delta rounds is the plan made
from the folder read in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central365.core.execute import Selection
from central365.core.model import CentralContact, Outcome, State
from central365.engine.plan_memo import PlanMemo, fingerprint
from central365.engine.service import SyncService
from central365.graph import GraphMailbox
from central365.memory import InMemoryFolderCache, InMemorySource
from tests.graph.conftest import FakeClock
from tests.graph.test_against_sandbox import MAILBOX, Sandbox


def record(i: int, surname: str = "Test") -> CentralContact:
    return CentralContact(
        key=str(i),
        status="active",
        first_name=f"Person{i}",
        last_name=surname,
        email=f"person{i}@example.com",
    )


def graph_person(i: int, surname: str = "Test") -> dict[str, Any]:
    return {
        "givenName": f"Person{i}",
        "surname": surname,
        "displayName": f"Person{i} {surname}",
        "emailAddresses": [{"address": f"person{i}@example.com", "name": f"Person{i} {surname}"}],
    }


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    box = Sandbox(clock)
    yield box
    box.http.close()


def cached_mailbox(sandbox: Sandbox, cache: InMemoryFolderCache) -> GraphMailbox:
    plain = sandbox.mailbox()
    return GraphMailbox(plain.client, cache=cache)


def requests(sandbox: Sandbox) -> int:
    count: int = sandbox.app.state.sandbox.stats.requests
    return count


def test_a_replan_with_nothing_changed_costs_at_most_two_requests(sandbox: Sandbox) -> None:
    folder = sandbox.mailbox().create_folder("CRM")
    for i in range(1500):
        sandbox.store.create_contact(MAILBOX, folder.id, graph_person(i))
    source = InMemorySource([record(i) for i in range(2000)])
    service = SyncService(source, cached_mailbox(sandbox, InMemoryFolderCache()), "CRM")
    first = service.plan()
    before = requests(sandbox)
    again = service.plan()
    assert requests(sandbox) - before <= 2
    assert again.plan == first.plan
    assert again.plan.count(State.NEW) == 500 and again.plan.count(State.UNCHANGED) == 1500


def test_writes_by_central365_are_seen_by_the_next_plan(sandbox: Sandbox) -> None:
    folder = sandbox.mailbox().create_folder("CRM")
    for i in range(10):
        sandbox.store.create_contact(MAILBOX, folder.id, graph_person(i, "Old"))
    source = InMemorySource([record(i) for i in range(25)])
    service = SyncService(source, cached_mailbox(sandbox, InMemoryFolderCache()), "CRM")
    outcome = service.sync(Selection(everything=True), allow_mass_change=True)
    report = outcome.report
    assert (report.count(Outcome.CREATED), report.count(Outcome.UPDATED)) == (15, 10)
    before = requests(sandbox)
    after = service.plan()
    # The folder search, one delta page, and one `$batch` reading the anchors of the 25
    # contacts central365 just wrote (15 new, 10 anchored by this run): 20 per batch.
    assert requests(sandbox) - before == 4
    assert after.plan.count(State.UNCHANGED) == 25
    assert all(item.match is not None for item in after.plan.items)
    before = requests(sandbox)
    service.plan()
    assert requests(sandbox) - before == 2  # nothing changed since


def test_a_memo_hands_back_the_plan_only_for_the_same_inputs(sandbox: Sandbox) -> None:
    folder = sandbox.mailbox().create_folder("CRM")
    sandbox.store.create_contact(MAILBOX, folder.id, graph_person(1))
    memo = PlanMemo()
    mailbox = cached_mailbox(sandbox, InMemoryFolderCache())
    first = SyncService(InMemorySource([record(1), record(2)]), mailbox, "CRM", memo=memo).plan()
    same = SyncService(InMemorySource([record(1), record(2)]), mailbox, "CRM", memo=memo).plan()
    assert same.plan.items is first.plan.items and memo.hits == 1
    changed = SyncService(InMemorySource([record(1, "New")]), mailbox, "CRM", memo=memo).plan()
    assert changed.plan.count(State.UPDATE) == 1 and memo.hits == 1
    sandbox.store.create_contact(MAILBOX, folder.id, graph_person(2))
    outlook = SyncService(InMemorySource([record(1), record(2)]), mailbox, "CRM", memo=memo).plan()
    assert outlook.plan.count(State.UNCHANGED) == 2 and memo.hits == 1


def test_a_memo_keeps_only_the_latest_folders() -> None:
    memo = PlanMemo(folders=2)
    for key in ("a", "b", "c"):
        memo.plan(key, [record(1)], [])
    memo.plan("a", [record(1)], [])
    assert memo.hits == 0  # "a" was dropped for "c"
    memo.plan("c", [record(1)], [])
    assert memo.hits == 1


def test_a_fingerprint_sees_every_field() -> None:
    assert fingerprint([record(1)], []) != fingerprint([record(1, "Other")], [])
    assert fingerprint([record(1)], []) == fingerprint([record(1)], [])


EDITS = st.lists(
    st.tuples(st.sampled_from(["add", "update", "delete", "move"]), st.integers(0, 40)),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rounds=st.lists(EDITS, min_size=1, max_size=4))
def test_plans_through_the_cache_equal_plans_from_a_full_read(
    clock: FakeClock, rounds: list[list[tuple[str, int]]]
) -> None:
    sandbox = Sandbox(clock)
    try:
        store = sandbox.store
        folder = sandbox.mailbox().create_folder("CRM")
        other = sandbox.mailbox().create_folder("Elsewhere")
        for i in range(0, 30, 2):
            store.create_contact(MAILBOX, folder.id, graph_person(i))
        source = InMemorySource([record(i) for i in range(40)])
        cached = SyncService(source, cached_mailbox(sandbox, InMemoryFolderCache()), "CRM")
        full = SyncService(source, sandbox.mailbox(), "CRM")
        cached.plan()
        for edits in rounds:
            for action, n in edits:
                present = [c["id"] for c in store.list_contacts(MAILBOX, folder.id)]
                if action == "add":
                    store.create_contact(MAILBOX, folder.id, graph_person(n, "Added"))
                elif present and action == "update":
                    store.update_contact(MAILBOX, present[n % len(present)], {"surname": f"U{n}"})
                elif present and action == "delete":
                    store.delete_contact(MAILBOX, present[n % len(present)])
                elif present and action == "move":
                    store.move_contact(MAILBOX, present[n % len(present)], other.id)
            by_key = {i.key: i for i in cached.plan().plan.items}
            expected = {i.key: i for i in full.plan().plan.items}
            assert by_key == expected
    finally:
        sandbox.http.close()
