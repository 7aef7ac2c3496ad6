"""The homepage's runs are the journal's runs: journalled as they write, and a run that dies
half-way leaves a journal that matches the folder (its contacts are found by anchor after)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from central365.appdb import Database, JournalRepository, RunRepository, RunStatus
from central365.core.execute import Selection
from central365.core.journal import JournalAction, JournalEntry
from central365.core.mapping import synced_values
from central365.core.model import Match, Outcome, State
from central365.core.ports import Mailbox
from central365.engine.journaling import JournalRun
from central365.engine.runs import RunManager, RunRequest
from central365.engine.service import SyncService
from central365.mailstore.store import SandboxStore
from central365.memory import InMemoryMailbox, InMemorySource

from .conftest import FOLDER, MAILBOX, ScriptedMailbox, person

LOCK = f"{MAILBOX}\n{FOLDER}".casefold()
PEOPLE = [person(n) for n in range(1, 6)]


def run_once(runs: RunRepository, journal: JournalRepository, mailbox: Mailbox) -> int:
    @contextmanager
    def open_service() -> Iterator[SyncService]:
        yield SyncService(InMemorySource(PEOPLE), mailbox, FOLDER)

    manager = RunManager(runs, journal=journal)
    try:
        started = manager.start(RunRequest("Ann", Selection(everything=True), open_service, LOCK))
        assert manager.wait(started.id, 10)
        return started.id
    finally:
        manager.shutdown(5)


def assert_journal_matches_folder(journal: JournalRepository, store: SandboxStore) -> None:
    """Every contact central365 wrote is journalled with its id, changeKey and values."""
    folder = InMemoryMailbox(store, MAILBOX)
    info = folder.find_folder(FOLDER)
    assert info is not None
    contacts = {c.anchor: c for c in folder.folder(info).contacts() if c.anchor}
    entries = journal.contacts(MAILBOX, FOLDER)
    assert set(entries) == set(contacts)
    for key, entry in entries.items():
        contact = contacts[key]
        assert (entry.office365_id, entry.change_key) == (contact.id, contact.change_key)
        assert entry.baseline == synced_values(contact)


def test_a_homepage_run_is_journalled_under_its_own_id(
    database: Database, runs: RunRepository, store: SandboxStore
) -> None:
    journal = JournalRepository(database)
    run_id = run_once(runs, journal, InMemoryMailbox(store, MAILBOX))
    record = runs.get(run_id)
    assert record is not None and record.status is RunStatus.FINISHED
    assert record.active_records == 5
    writes = journal.writes(run_id)
    assert sorted(w.key for w in writes) == ["1", "2", "3", "4", "5"]
    assert {w.action for w in writes} == {JournalAction.CREATED}
    assert_journal_matches_folder(journal, store)
    last = journal.last_run(MAILBOX, FOLDER)
    assert last is not None and (last.id, last.created) == (run_id, 5)


def test_a_run_that_dies_half_way_leaves_a_journal_that_matches_the_folder(
    database: Database, runs: RunRepository, store: SandboxStore
) -> None:
    journal = JournalRepository(database)
    died = run_once(runs, journal, ScriptedMailbox(store, MAILBOX, die_after=2))
    record = runs.get(died)
    assert record is not None and record.status is RunStatus.FAILED
    assert len(journal.writes(died)) == 2
    assert_journal_matches_folder(journal, store)

    # The next plan finds the written contacts by their anchors: nothing is new twice.
    replan = SyncService(InMemorySource(PEOPLE), InMemoryMailbox(store, MAILBOX), FOLDER).plan()
    states = {i.key: (i.state, i.match) for i in replan.plan.items}
    assert sorted(k for k, (s, _) in states.items() if s is State.UNCHANGED) == ["1", "2"]
    assert all(m is Match.ANCHOR for s, m in states.values() if s is State.UNCHANGED)

    finished = run_once(runs, journal, InMemoryMailbox(store, MAILBOX))
    assert sorted(w.key for w in journal.writes(finished)) == ["3", "4", "5"]
    assert_journal_matches_folder(journal, store)
    info = InMemoryMailbox(store, MAILBOX).find_folder(FOLDER)
    assert info is not None
    assert len(store.list_contacts(MAILBOX, info.id)) == 5


def test_contacts_written_but_never_journalled_are_adopted_by_the_next_run(
    database: Database, runs: RunRepository, store: SandboxStore
) -> None:
    # A run whose journalling never happened (as when the process died right after a write).
    SyncService(InMemorySource(PEOPLE[:2]), InMemoryMailbox(store, MAILBOX), FOLDER).sync(
        Selection(everything=True)
    )
    journal = JournalRepository(database)
    assert journal.contacts(MAILBOX, FOLDER) == {}
    run_id = run_once(runs, journal, InMemoryMailbox(store, MAILBOX))
    assert sorted(w.key for w in journal.writes(run_id)) == ["3", "4", "5"]
    assert_journal_matches_folder(journal, store)
    adopted = journal.contacts(MAILBOX, FOLDER)
    assert {k for k, e in adopted.items() if e.run_id is None} == {"1", "2"}

    # The next run offers nothing to adopt: every anchored contact is journalled already.
    offered: list[list[str]] = []

    class Watched(JournalRepository):
        def adopt(self, run_id: int, entries: Sequence[JournalEntry]) -> int:
            offered.append([e.key for e in entries])
            return super().adopt(run_id, entries)

    run_once(runs, Watched(database), InMemoryMailbox(store, MAILBOX))
    assert offered == [[]]
    assert journal.contacts(MAILBOX, FOLDER) == adopted


def test_a_journalled_delete_keeps_every_synced_value_and_forgets_the_contact(
    database: Database, runs: RunRepository, store: SandboxStore
) -> None:
    journal = JournalRepository(database)
    mailbox = InMemoryMailbox(store, MAILBOX)
    run_once(runs, journal, mailbox)
    info = mailbox.find_folder(FOLDER)
    assert info is not None
    contacts = {c.anchor: c for c in mailbox.folder(info).contacts()}
    doomed = [contacts["2"], contacts["4"]]
    run = runs.start(
        started_by="Ann", mailbox=MAILBOX, folder_name=FOLDER, selected=2, hold_lock=False
    )
    service = SyncService(InMemorySource(PEOPLE), mailbox, FOLDER)
    seen: list[str] = []
    outcome = service.delete(
        [c.id for c in doomed], lambda r: seen.append(r.key), journal=JournalRun(journal, run.id)
    )
    assert [r.outcome for r in outcome.report.results] == [Outcome.DELETED, Outcome.DELETED]
    assert (outcome.unwritten, outcome.journal_failures, seen) == (0, 0, ["2", "4"])
    writes = journal.writes(run.id)
    assert [(w.key, w.action, w.office365_id) for w in writes] == [
        ("2", JournalAction.DELETED, doomed[0].id),
        ("4", JournalAction.DELETED, doomed[1].id),
    ]
    assert writes[0].before == {k: v or None for k, v in synced_values(doomed[0]).items()}
    assert sorted(journal.contacts(MAILBOX, FOLDER)) == ["1", "3", "5"]
    assert_journal_matches_folder(journal, store)
    # The delete run planned nothing: the next sync's guards still compare with the sync.
    last = journal.last_run(MAILBOX, FOLDER)
    assert last is not None and last.id != run.id
