"""One behaviour suite for the Office 365 ports, run against both implementations:

- `memory`: InMemoryMailbox, calling the sandbox's store directly (the unit tests' fake);
- `graph`: GraphMailbox over HTTP (in-process transport) to the sandbox app on the same store.

If the fake and the real adapter drift apart, one of the two parametrisations fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from central365.core.errors import Conflict, GraphError, SourceError
from central365.core.execute import NOT_ANCHORED, NOT_IN_FOLDER, Selection
from central365.core.mapping import anchor_property
from central365.core.model import (
    ALREADY_GONE,
    CentralContact,
    ContactWrite,
    FolderInfo,
    Outcome,
    State,
    WriteKind,
    WriteResult,
)
from central365.core.ports import Mailbox
from central365.engine.service import SyncService
from central365.graph import StaticTokenAuth, connect
from central365.mailstore.store import SandboxStore, seed_folder
from central365.memory import InMemoryMailbox, InMemorySource
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.transport import InProcessTransport

MAILBOX = "contract@contoso.test"


@pytest.fixture(params=["memory", "graph"])
def world(request: pytest.FixtureRequest) -> Iterator[tuple[Mailbox, SandboxStore]]:
    store = SandboxStore(default_mailbox=MAILBOX)
    if request.param == "memory":
        yield InMemoryMailbox(store, MAILBOX), store
        return
    transport = InProcessTransport(create_sandbox_app(store))
    with connect(
        "http://sandbox.test/v1.0", MAILBOX, StaticTokenAuth("t"), transport=transport
    ) as mailbox:
        yield mailbox, store


def body(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "givenName": f"P{n}",
        "surname": "Test",
        "displayName": f"P{n} Test",
        "emailAddresses": [{"address": f"p{n}@example.com", "name": f"P{n}"}],
        **extra,
    }


def test_find_folder_by_name(world: tuple[Mailbox, SandboxStore]) -> None:
    mailbox, _ = world
    assert mailbox.find_folder("Central") is None
    created = mailbox.create_folder("Central")
    assert mailbox.find_folder("Central") == created
    assert created.display_name == "Central"
    assert [f.id for f in mailbox.folders()] == [created.id]


def test_names_with_quotes_are_found(world: tuple[Mailbox, SandboxStore]) -> None:
    mailbox, _ = world
    created = mailbox.create_folder("O'Brien's clients")
    assert mailbox.find_folder("O'Brien's clients") == created


def test_two_folders_with_one_name_is_a_conflict_naming_both(
    world: tuple[Mailbox, SandboxStore],
) -> None:
    mailbox, store = world
    first = seed_folder(store, MAILBOX, "Central")
    second = seed_folder(store, MAILBOX, "Central", allow_duplicate=True)
    with pytest.raises(Conflict) as caught:
        mailbox.find_folder("Central")
    assert first["id"] in caught.value.full_message()
    assert second["id"] in caught.value.full_message()


def test_contacts_lists_only_that_folder(world: tuple[Mailbox, SandboxStore]) -> None:
    mailbox, store = world
    seed_folder(store, MAILBOX, "Other", [body(9)])
    seed_folder(store, MAILBOX, "Central", [body(n) for n in range(25)])
    info = mailbox.find_folder("Central")
    assert info is not None
    contacts = list(mailbox.folder(info).contacts())
    assert sorted(c.given_name for c in contacts) == sorted(f"P{n}" for n in range(25))
    assert all(c.id and c.change_key for c in contacts)


def test_find_by_email_ignores_case(world: tuple[Mailbox, SandboxStore]) -> None:
    mailbox, store = world
    seed_folder(store, MAILBOX, "Central", [body(1), body(2)])
    info = mailbox.find_folder("Central")
    assert info is not None
    found = mailbox.folder(info).find_by_email("P1@Example.com")
    assert [c.given_name for c in found] == ["P1"]


def test_write_creates_and_updates_with_one_result_each(
    world: tuple[Mailbox, SandboxStore],
) -> None:
    mailbox, store = world
    seed_folder(store, MAILBOX, "Central", [body(1, personalNotes="keep")])
    info = mailbox.find_folder("Central")
    assert info is not None
    folder = mailbox.folder(info)
    (existing,) = folder.contacts()
    seen: list[WriteResult] = []
    writes = [
        ContactWrite("a", WriteKind.CREATE, body(2), "p2@example.com"),
        ContactWrite(
            "b",
            WriteKind.UPDATE,
            {"surname": "Changed", "displayName": "P1 Changed"},
            "p1@example.com",
            existing.id,
        ),
        # Graph allows 3 addresses at most: this one is refused, the others go through.
        ContactWrite(
            "c",
            WriteKind.CREATE,
            body(3, emailAddresses=[{"address": f"x{n}@example.com"} for n in range(4)]),
            "x0@example.com",
        ),
        ContactWrite("d", WriteKind.UPDATE, {"surname": "Gone"}, "gone@example.com", "no-such-id"),
    ]
    results = folder.write(writes, seen.append)
    assert [r.key for r in results] == ["a", "b", "c", "d"]
    assert sorted(r.key for r in seen) == ["a", "b", "c", "d"]
    assert [r.outcome for r in results] == [
        Outcome.CREATED,
        Outcome.UPDATED,
        Outcome.FAILED,
        Outcome.FAILED,
    ]
    assert results[0].office365_id and results[1].office365_id == existing.id
    assert "EmailAddresses" in (results[2].error or "")
    after = {c.id: c for c in folder.contacts()}
    assert after[existing.id].surname == "Changed"
    assert after[results[0].office365_id].given_name == "P2"
    notes = store.get_contact(MAILBOX, existing.id)["personalNotes"]
    assert notes == "keep"


def test_service_plan_sync_replan(world: tuple[Mailbox, SandboxStore]) -> None:
    mailbox, store = world
    seed_folder(store, MAILBOX, "Central", [body(1, surname="Old")])
    records = [
        CentralContact(
            key=str(n),
            status="active",
            first_name=f"P{n}",
            last_name="Test",
            email=f"p{n}@example.com",
        )
        for n in range(1, 4)
    ]
    service = SyncService(InMemorySource(records), mailbox, "Central")
    first = service.plan()
    assert first.plan.counts()[State.NEW] == 2 and first.plan.counts()[State.UPDATE] == 1
    outcome = service.sync(Selection(everything=True))
    assert outcome.report.failed == 0
    assert outcome.report.count(Outcome.CREATED) == 2
    again = service.plan()
    assert again.plan.counts()[State.UNCHANGED] == 3


def test_service_creates_the_folder_only_when_writing(world: tuple[Mailbox, SandboxStore]) -> None:
    mailbox, _ = world
    records = [
        CentralContact(
            key="1", status="active", first_name="A", last_name="B", email="a@example.com"
        )
    ]
    service = SyncService(InMemorySource(records), mailbox, "Fresh")
    planned = service.plan()
    assert not planned.folder.exists and planned.plan.counts()[State.NEW] == 1
    nothing = service.sync(Selection(keys=frozenset({"missing"})))
    assert not nothing.folder_created and mailbox.find_folder("Fresh") is None
    assert nothing.report.results[0].outcome is Outcome.SKIPPED
    done = service.sync(Selection(everything=True))
    assert done.folder_created and done.report.count(Outcome.CREATED) == 1


class UnreachableMailbox(InMemoryMailbox):
    """A mailbox whose every folder lookup fails, as when Graph cannot be reached."""

    def find_folder(self, display_name: str) -> None:
        raise GraphError("Office 365 could not be reached.")


def test_a_central_that_cannot_be_read_wins_over_a_folder_error() -> None:
    store = SandboxStore(default_mailbox=MAILBOX)
    broken = InMemorySource([], error="The export is missing.")
    service = SyncService(broken, UnreachableMailbox(store, MAILBOX), "Central")
    with pytest.raises(SourceError, match="export is missing"):
        service.plan()
    readable = SyncService(InMemorySource([]), UnreachableMailbox(store, MAILBOX), "Central")
    with pytest.raises(GraphError, match="could not be reached"):
        readable.plan()


def test_the_anchor_written_with_a_contact_is_read_back_and_a_patch_sets_it(
    world: tuple[Mailbox, SandboxStore],
) -> None:
    mailbox, store = world
    seed_folder(store, MAILBOX, "Central", [body(1)])
    info = mailbox.find_folder("Central")
    assert info is not None
    folder = mailbox.folder(info)
    (existing,) = folder.contacts()
    assert existing.anchor == ""
    results = folder.write(
        [
            ContactWrite("new", WriteKind.CREATE, {**body(2), **anchor_property("42")}, "p2@x"),
            ContactWrite(
                "old",
                WriteKind.UPDATE,
                {"surname": "Anchored", "displayName": "P1 Anchored", **anchor_property("7")},
                "p1@example.com",
                existing.id,
            ),
        ]
    )
    # The answer carries the contact as written: its values and changeKey, for the journal.
    assert [r.contact.surname if r.contact else None for r in results] == ["Test", "Anchored"]
    assert all(r.contact and r.contact.change_key for r in results)
    anchors = {c.given_name: c.anchor for c in folder.contacts()}
    assert anchors == {"P1": "7", "P2": "42"}
    assert [c.anchor for c in folder.find_by_email("p1@example.com")] == ["7"]


def test_delete_removes_the_contact_and_a_gone_one_counts_with_a_note(
    world: tuple[Mailbox, SandboxStore],
) -> None:
    mailbox, store = world
    seed_folder(store, MAILBOX, "Central", [body(1), body(2)])
    seed_folder(store, MAILBOX, "Other", [body(3)])
    info, other = mailbox.find_folder("Central"), mailbox.find_folder("Other")
    assert info is not None and other is not None
    folder = mailbox.folder(info)
    first, second = sorted(folder.contacts(), key=lambda c: c.given_name)
    (elsewhere,) = mailbox.folder(other).contacts()
    seen: list[WriteResult] = []
    writes = [
        ContactWrite("k1", WriteKind.DELETE, {}, "p1@example.com", first.id),
        ContactWrite("k1again", WriteKind.DELETE, {}, "p1@example.com", first.id),
        ContactWrite("k3", WriteKind.DELETE, {}, "p3@example.com", elsewhere.id),
        ContactWrite("none", WriteKind.DELETE, {}, "", None),
    ]
    results = folder.write(writes, seen.append)
    assert [(r.key, r.outcome, r.office365_id) for r in results] == [
        ("k1", Outcome.DELETED, first.id),
        ("k1again", Outcome.DELETED, first.id),
        ("k3", Outcome.DELETED, elsewhere.id),
        ("none", Outcome.FAILED, None),
    ]
    assert [r.note for r in results[:3]] == [None, ALREADY_GONE, ALREADY_GONE]
    assert sorted(r.key for r in seen) == sorted(r.key for r in results)
    assert [c.id for c in folder.contacts()] == [second.id]
    # A contact of another folder is never reached through this folder.
    assert [c.id for c in mailbox.folder(other).contacts()] == [elsewhere.id]


def test_service_delete_skips_gone_and_unanchored_contacts(
    world: tuple[Mailbox, SandboxStore],
) -> None:
    mailbox, store = world
    anchored = [body(n, **anchor_property(f"c{n}")) for n in (1, 2)]
    seed_folder(store, MAILBOX, "Central", [*anchored, body(3)])
    service = SyncService(InMemorySource([]), mailbox, "Central")
    by_name = {c.given_name: c for c in mailbox.folder(_folder(mailbox)).contacts()}
    ids = [by_name["P2"].id, "gone-id", by_name["P3"].id, by_name["P1"].id, by_name["P2"].id]
    outcome = service.delete(ids)
    assert [(r.key, r.outcome, r.office365_id) for r in outcome.report.results] == [
        ("c2", Outcome.DELETED, by_name["P2"].id),
        ("", Outcome.SKIPPED, "gone-id"),
        ("", Outcome.SKIPPED, by_name["P3"].id),
        ("c1", Outcome.DELETED, by_name["P1"].id),
    ]
    assert outcome.report.results[1].error == NOT_IN_FOLDER
    assert outcome.report.results[2].error == NOT_ANCHORED
    assert set(outcome.contacts) == {by_name["P1"].id, by_name["P2"].id}
    remaining = list(mailbox.folder(_folder(mailbox)).contacts())
    assert [c.given_name for c in remaining] == ["P3"]
    assert (
        SyncService(InMemorySource([]), mailbox, "Nowhere").delete(["x"]).report.results[0].outcome
        is Outcome.SKIPPED
    )


def _folder(mailbox: Mailbox) -> FolderInfo:
    info = mailbox.find_folder("Central")
    assert info is not None
    return info
