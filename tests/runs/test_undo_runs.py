"""Undo as a journalled run on the in-memory folder and a SQLite journal: restores, deletes,
recreations, the reasons things are skipped, and the undo of an undo."""

from __future__ import annotations

from central365.appdb import Database, JournalRepository, RunRepository
from central365.core.execute import Selection
from central365.core.journal import JournalAction
from central365.core.mapping import anchor_property, synced_values
from central365.core.model import CentralContact, FolderContact, Outcome
from central365.core.undo import (
    ALREADY_DELETED,
    HAS_CONTACT_AGAIN,
    TWICE,
    UndoAction,
    changed_since,
    written_again,
)
from central365.engine.journaling import JournalRun
from central365.engine.serialize import undo_json
from central365.engine.service import SyncService
from central365.mailstore.store import SandboxStore
from central365.memory import InMemoryMailbox, InMemorySource

from .conftest import FOLDER, MAILBOX, person


class World:
    """One folder, its journal, and runs of sync, delete and undo into it."""

    def __init__(self, database: Database, store: SandboxStore) -> None:
        self.runs = RunRepository(database)
        self.journal = JournalRepository(database)
        self.store = store
        self.mailbox = InMemoryMailbox(store, MAILBOX)

    def service(self, people: list[CentralContact]) -> SyncService:
        return SyncService(InMemorySource(people), self.mailbox, FOLDER)

    def start(self, undoes: int | None = None) -> int:
        return self.runs.start(
            started_by="Ann",
            mailbox=MAILBOX,
            folder_name=FOLDER,
            selected=0,
            hold_lock=False,
            undoes=undoes,
        ).id

    def sync(self, people: list[CentralContact]) -> int:
        run_id = self.start()
        self.service(people).sync(
            Selection(everything=True), journal=JournalRun(self.journal, run_id)
        )
        return run_id

    def undo(self, run_id: int) -> tuple[int, list[tuple[str, Outcome, str | None]]]:
        undo_id = self.start(undoes=run_id)
        outcome = self.service([]).undo(
            run_id, self.journal, journal=JournalRun(self.journal, undo_id)
        )
        return undo_id, [(r.key, r.outcome, r.error) for r in outcome.report.results]

    def contacts(self) -> dict[str, FolderContact]:
        info = self.mailbox.find_folder(FOLDER)
        assert info is not None
        return {c.anchor or c.id: c for c in self.mailbox.folder(info).contacts()}

    def values(self) -> dict[str, dict[str, str]]:
        return {key: synced_values(c) for key, c in self.contacts().items()}


def renamed(n: int, first: str) -> CentralContact:
    return person(n)._replace(first_name=first)


def test_undo_puts_a_sync_back_and_its_undo_puts_it_back_again(
    database: Database, store: SandboxStore
) -> None:
    world = World(database, store)
    world.sync([person(1), person(2)])
    before = world.values()
    second = world.sync([renamed(1, "Anne"), person(2), person(3)])
    after = world.values()
    assert after["1"]["givenName"] == "Anne" and "3" in after

    preview = world.service([]).plan_undo(second, world.journal)
    assert [(i.key, i.action) for i in preview.items] == [
        ("1", UndoAction.RESTORE),
        ("3", UndoAction.DELETE),
    ]
    assert [(c.field, c.before, c.after) for c in preview.items[0].changes] == [
        ("givenName", "Anne", "First1")
    ]
    undo_id, results = world.undo(second)
    assert results == [("1", Outcome.UPDATED, None), ("3", Outcome.DELETED, None)]
    assert world.values() == before
    record = world.runs.get(undo_id)
    assert record is not None and record.undoes == second
    assert [(w.key, w.action) for w in world.journal.writes(undo_id)] == [
        ("1", JournalAction.UPDATED),
        ("3", JournalAction.DELETED),
    ]
    assert sorted(world.journal.contacts(MAILBOX, FOLDER)) == ["1", "2"]

    # The undo is undoable: the rename comes back, and the deleted contact is made again.
    _, results = world.undo(undo_id)
    assert results == [("1", Outcome.UPDATED, None), ("3", Outcome.CREATED, None)]
    assert world.values() == after
    assert world.contacts()["3"].anchor == "3"
    assert sorted(world.journal.contacts(MAILBOX, FOLDER)) == ["1", "2", "3"]


def test_what_changed_since_is_skipped_with_the_reason(
    database: Database, store: SandboxStore
) -> None:
    world = World(database, store)
    first = world.sync([person(n) for n in range(1, 5)])
    contacts = world.contacts()
    # Outlook deletes 2; a later run makes it again and writes 3 again; then Outlook edits 1.
    store.delete_contact(MAILBOX, contacts["2"].id)
    later = world.sync([person(1), person(2), renamed(3, "Tess"), person(4)])
    store.update_contact(MAILBOX, contacts["1"].id, {"mobilePhone": "07700 900123"})
    undo_id, results = world.undo(first)
    assert results == [
        ("1", Outcome.SKIPPED, changed_since(first)),
        ("2", Outcome.SKIPPED, ALREADY_DELETED),  # the later run's new contact is not touched
        ("3", Outcome.SKIPPED, written_again(later)),
        ("4", Outcome.DELETED, None),
    ]
    assert sorted(world.contacts()) == ["1", "2", "3"]
    _ = undo_id


def test_a_contact_gone_since_is_already_deleted_and_a_delete_is_not_recreated_twice(
    database: Database, store: SandboxStore
) -> None:
    world = World(database, store)
    first = world.sync([person(1), person(2)])
    contacts = world.contacts()
    store.delete_contact(MAILBOX, contacts["1"].id)
    _, results = world.undo(first)
    assert results == [("1", Outcome.SKIPPED, ALREADY_DELETED), ("2", Outcome.DELETED, None)]

    # A delete run, then a contact of the record made again: its undo skips it.
    world.sync([person(2)])
    deleting = world.start()
    world.service([]).delete(
        [world.contacts()["2"].id], journal=JournalRun(world.journal, deleting)
    )
    world.service([person(2)]).sync(Selection(everything=True))  # never journalled
    _, results = world.undo(deleting)
    assert results == [("2", Outcome.SKIPPED, HAS_CONTACT_AGAIN)]
    assert len([c for c in world.contacts().values() if c.anchor == "2"]) == 1


def test_an_undo_of_a_delete_written_again_names_the_run(
    database: Database, store: SandboxStore
) -> None:
    world = World(database, store)
    world.sync([person(1)])
    deleting = world.start()
    world.service([]).delete(
        [world.contacts()["1"].id], journal=JournalRun(world.journal, deleting)
    )
    again = world.sync([person(1)])
    _, results = world.undo(deleting)
    assert results == [("1", Outcome.SKIPPED, written_again(again))]
    _, results = world.undo(again)
    assert results == [("1", Outcome.DELETED, None)]
    _, results = world.undo(deleting)
    assert results == [("1", Outcome.CREATED, None)]
    assert len(world.contacts()) == 1


def test_two_deleted_contacts_of_one_record_come_back_as_one_in_plan_order(
    database: Database, store: SandboxStore
) -> None:
    world = World(database, store)
    world.sync([person(1)])
    (original,) = world.contacts().values()
    info = world.mailbox.find_folder(FOLDER)
    assert info is not None
    twin = {"givenName": "Twin", "emailAddresses": [{"address": "twin@example.com"}]}
    twin_id = store.create_contact(MAILBOX, info.id, {**twin, **anchor_property("1")})["id"]
    deleting = world.start()
    world.service([]).delete([original.id, twin_id], journal=JournalRun(world.journal, deleting))
    assert world.contacts() == {}
    undo_id = world.start(undoes=deleting)
    outcome = world.service([]).undo(
        deleting, world.journal, journal=JournalRun(world.journal, undo_id)
    )
    assert [(r.key, r.outcome, r.error) for r in outcome.report.results] == [
        ("1", Outcome.CREATED, None),
        ("1", Outcome.SKIPPED, TWICE),
    ]
    shown = undo_json(outcome.planned, outcome.report, run_id=undo_id)
    assert [(i["action"], i["outcome"]) for i in shown["items"]] == [
        ("recreate", "created"),
        ("skip", "skipped"),
    ]
    assert (shown["recreated"], shown["skipped"]) == (1, 1)
    (back,) = world.contacts().values()
    assert synced_values(back) == synced_values(original)
