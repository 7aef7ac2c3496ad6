"""The journal entry of a write (pure), and journaling that never stops a run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from central365.core.journal import (
    JournalAction,
    JournalContact,
    JournalEntry,
    RunSummary,
    journal_entry,
)
from central365.core.mapping import folder_contact_from_graph
from central365.core.model import CentralContact, Outcome, Plan, PlanItem, WriteResult
from central365.core.plan import build_plan
from central365.core.ports import BatchedResults
from central365.engine.journaling import Journaling, JournalRun


def plan_item(*folder: dict[str, Any], **fields: str) -> PlanItem:
    record = CentralContact(
        key="7", status="active", first_name="Ann", last_name="Lee", email="ann@example.com"
    )
    record = record._replace(**fields)
    (item,) = build_plan([record], [folder_contact_from_graph(c) for c in folder]).items
    return item


def test_a_created_contact_has_no_before_image_and_the_answer_is_the_baseline() -> None:
    item = plan_item()
    answer = folder_contact_from_graph(
        {
            "id": "c1",
            "givenName": "Ann",
            "surname": "Lee",
            "changeKey": "ck1",
            "emailAddresses": [{"address": "ann@example.com"}],
        }
    )
    entry = journal_entry(item, WriteResult("7", Outcome.CREATED, "c1", contact=answer))
    assert entry is not None
    assert (entry.action, entry.before, entry.change_key) == (JournalAction.CREATED, {}, "ck1")
    assert entry.baseline["givenName"] == "Ann" and entry.baseline["title"] == ""


def test_a_create_whose_answer_was_lost_keeps_what_was_sent() -> None:
    entry = journal_entry(plan_item(title="Dr"), WriteResult("7", Outcome.CREATED, "c1"))
    assert entry is not None and entry.change_key == ""
    assert entry.baseline["title"] == "Dr"
    assert entry.baseline["emailAddresses[0]"] == "ann@example.com"
    assert entry.baseline["homeAddress.city"] == ""
    assert len(entry.baseline) == 17


def test_an_update_keeps_the_values_it_replaced() -> None:
    current = {
        "id": "c1",
        "givenName": "Ann",
        "surname": "Lee",
        "title": "Ms",
        "emailAddresses": [{"address": "ann@example.com"}],
    }
    item = plan_item(current, title="Dr", mobile="07700 900001")
    entry = journal_entry(item, WriteResult("7", Outcome.UPDATED, "c1"))
    assert entry is not None and entry.action is JournalAction.UPDATED
    assert entry.before == {"title": "Ms", "mobilePhone": None}


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.SKIPPED])
def test_writes_that_did_not_happen_are_not_journalled(outcome: Outcome) -> None:
    assert journal_entry(plan_item(), WriteResult("7", outcome, None, "no")) is None


class BrokenJournal:
    """A journal whose database has gone away."""

    def note_plan(self, run_id: int, active_records: int) -> None: ...

    def record(self, run_id: int, entry: JournalEntry) -> None:
        raise OSError("disk full")

    def record_many(self, run_id: int, entries: Sequence[JournalEntry]) -> None:
        raise OSError("disk full")

    def adopt(self, run_id: int, entries: Sequence[JournalEntry]) -> int:
        return 0

    def last_run(self, mailbox: str, folder_name: str) -> RunSummary | None:
        return None

    def contacts(self, mailbox: str, folder_name: str) -> dict[str, JournalContact]:
        return {}


def test_a_journal_that_fails_is_counted_and_the_front_end_still_hears_of_the_write() -> None:
    item = plan_item()
    heard: list[WriteResult] = []
    journaling = Journaling(JournalRun(BrokenJournal(), 1), Plan(items=(item,)), heard.append)
    result = WriteResult("7", Outcome.CREATED, "c1")
    journaling(result)
    assert heard == [result] and journaling.failures == 1


class SpyJournal(BrokenJournal):
    """Records what it is asked to record, and when (beside what the front end hears)."""

    def __init__(self, events: list[object]) -> None:
        self.events = events

    def record(self, run_id: int, entry: JournalEntry) -> None:
        self.record_many(run_id, [entry])

    def record_many(self, run_id: int, entries: Sequence[JournalEntry]) -> None:
        self.events.append(tuple(e.key for e in entries))


def test_one_calls_results_are_journalled_together_before_the_front_end_hears_of_them() -> None:
    records = [
        CentralContact(
            key=str(n), status="active", first_name="A", last_name="B", email=f"p{n}@example.com"
        )
        for n in range(3)
    ]
    plan = build_plan(records, [])
    events: list[object] = []
    journaling = Journaling(JournalRun(SpyJournal(events), 1), plan, events.append)
    assert isinstance(journaling, BatchedResults)
    done = [WriteResult(str(n), Outcome.CREATED, f"c{n}") for n in range(3)]
    failed = WriteResult("2", Outcome.FAILED, None, "no")
    with journaling.batch():
        journaling(done[0])
        with journaling.batch():  # nested: the outer block journals
            journaling(done[1])
        journaling(failed)  # not written: not journalled, still heard of
        assert events == []
    journaling(done[2])  # outside a batch: journalled alone
    assert events == [("0", "1"), done[0], done[1], failed, ("2",), done[2]]


def test_a_batch_the_journal_refuses_counts_each_write_and_is_still_heard_of() -> None:
    records = [
        CentralContact(
            key=str(n), status="active", first_name="A", last_name="B", email=f"p{n}@example.com"
        )
        for n in range(2)
    ]
    heard: list[WriteResult] = []
    journaling = Journaling(JournalRun(BrokenJournal(), 1), build_plan(records, []), heard.append)
    done = [WriteResult(str(n), Outcome.CREATED, f"c{n}") for n in range(2)]
    with journaling.batch():
        for result in done:
            journaling(result)
    assert heard == done and journaling.failures == 2
