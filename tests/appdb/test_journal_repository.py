"""JournalRepository on SQLite and PostgreSQL: writes, before-images, baselines, last run."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central365.appdb import Database, JournalRepository, RunRepository, RunStatus, run_lock_key
from central365.appdb.leases import LeaseRepository
from central365.core.journal import JournalAction, JournalEntry

from .conftest import FakeClock

MAILBOX = "ops@contoso.test"


def entry(key: str, action: JournalAction, change_key: str, **before: str | None) -> JournalEntry:
    return JournalEntry(
        key=key,
        office365_id=f"AAMk{key}",
        action=action,
        before=before,
        baseline={"givenName": "Ann", "emailAddresses[0]": f"{key}@example.com"},
        change_key=change_key,
    )


def test_a_write_keeps_its_before_image_and_the_records_latest_contact(
    database: Database, clock: FakeClock
) -> None:
    runs, journal = RunRepository(database, clock), JournalRepository(database, clock)
    first = runs.start(started_by="Ann", mailbox=MAILBOX, folder_name="Central", selected=1).id
    journal.record(first, entry("1", JournalAction.CREATED, "ck1"))
    clock.advance(timedelta(minutes=5))
    second = runs.start(
        started_by="Bob (command line)",
        mailbox=MAILBOX,
        folder_name="Central",
        selected=1,
        hold_lock=False,
    ).id
    journal.record(second, entry("1", JournalAction.UPDATED, "ck2", givenName="Anne", title=None))

    (created,) = journal.writes(first)
    assert (created.key, created.action, created.before) == ("1", JournalAction.CREATED, {})
    (updated,) = journal.writes(second)
    assert updated.action is JournalAction.UPDATED
    assert updated.before == {"givenName": "Anne", "title": None}
    assert (updated.change_key, updated.written_at) == ("ck2", clock.now)

    # One row per record and folder, naming the newest write; the folder's name in any case.
    contacts = journal.contacts(MAILBOX.upper(), " central ")
    assert list(contacts) == ["1"]
    latest = contacts["1"]
    assert (latest.office365_id, latest.change_key, latest.run_id) == ("AAMk1", "ck2", second)
    assert latest.baseline == {"givenName": "Ann", "emailAddresses[0]": "1@example.com"}
    assert journal.contacts(MAILBOX, "Other") == {}


def test_folders_are_journalled_apart(database: Database, clock: FakeClock) -> None:
    runs, journal = RunRepository(database, clock), JournalRepository(database, clock)
    a = runs.start(started_by="Ann", mailbox=MAILBOX, folder_name="A", selected=0).id
    b = runs.start(started_by="Ann", mailbox=MAILBOX, folder_name="B", selected=0).id
    journal.record(a, entry("1", JournalAction.CREATED, "a"))
    journal.record(b, entry("1", JournalAction.CREATED, "b"))
    assert journal.contacts(MAILBOX, "A")["1"].change_key == "a"
    assert journal.contacts(MAILBOX, "B")["1"].change_key == "b"


def test_recording_into_an_unknown_run_fails_and_keeps_nothing(database: Database) -> None:
    journal = JournalRepository(database)
    with pytest.raises(LookupError):
        journal.record(404, entry("1", JournalAction.CREATED, "x"))
    assert journal.writes(404) == []


def test_last_run_is_the_newest_that_planned(database: Database, clock: FakeClock) -> None:
    runs, journal = RunRepository(database, clock), JournalRepository(database, clock)
    assert journal.last_run(MAILBOX, "Central") is None
    planned = runs.start(started_by="Ann", mailbox=MAILBOX, folder_name="Central", selected=0).id
    journal.note_plan(planned, 1234)
    runs.finish(planned, RunStatus.FINISHED)
    # A later run that failed before it planned does not count; another folder neither.
    unplanned = runs.start(started_by="Ann", mailbox=MAILBOX, folder_name="Central", selected=0)
    runs.finish(unplanned.id, RunStatus.FAILED, "Central could not be read.")
    other = runs.start(started_by="Ann", mailbox=MAILBOX, folder_name="Other", selected=0).id
    journal.note_plan(other, 5)

    last = journal.last_run(MAILBOX, "central")
    assert last is not None
    assert (last.id, last.active_records, last.status) == (planned, 1234, "finished")
    record = runs.get(planned)
    assert record is not None and record.active_records == 1234


def test_a_run_recorded_without_the_lock_does_not_block_the_folder(database: Database) -> None:
    runs = RunRepository(database)
    cli = runs.start(
        started_by="cli", mailbox=MAILBOX, folder_name="Central", selected=0, hold_lock=False
    )
    homepage = runs.start(started_by="Ann", mailbox=MAILBOX, folder_name="Central", selected=0)
    assert cli.status is RunStatus.RUNNING and homepage.id != cli.id


def test_a_command_line_run_whose_lease_lapsed_is_marked_interrupted_and_a_live_one_kept(
    database: Database, clock: FakeClock
) -> None:
    runs, leases = RunRepository(database, clock), LeaseRepository(database, clock)
    live = runs.start(
        started_by="cli", mailbox=MAILBOX, folder_name="A", selected=0, hold_lock=False
    )
    leases.attach_run(leases.acquire(run_lock_key(MAILBOX, "A"), "cli"), live.id)
    killed = runs.start(
        started_by="cli", mailbox=MAILBOX, folder_name="B", selected=0, hold_lock=False
    )
    leases.attach_run(
        leases.acquire(run_lock_key(MAILBOX, "B"), "cli", ttl=timedelta(seconds=5)), killed.id
    )
    clock.advance(timedelta(seconds=30))

    assert runs.mark_abandoned() == 1
    assert runs.get(killed.id).status is RunStatus.INTERRUPTED  # type: ignore[union-attr]
    # The homepage's start-up leaves the command line's live run alone too.
    assert runs.mark_interrupted() == 0
    assert runs.get(live.id).status is RunStatus.RUNNING  # type: ignore[union-attr]


def test_adopt_keeps_only_the_contacts_the_journal_lacks(database: Database) -> None:
    runs, journal = RunRepository(database), JournalRepository(database)
    run_id = runs.start(started_by="Ann", mailbox=MAILBOX, folder_name="Central", selected=0).id
    journal.record(run_id, entry("1", JournalAction.CREATED, "written"))
    found = [entry("1", JournalAction.UPDATED, "read"), entry("2", JournalAction.UPDATED, "read")]
    assert journal.adopt(run_id, found) == 1
    assert journal.adopt(run_id, found) == 0
    contacts = journal.contacts(MAILBOX, "Central")
    assert (contacts["1"].change_key, contacts["1"].run_id) == ("written", run_id)
    assert (contacts["2"].change_key, contacts["2"].run_id) == ("read", None)
    assert [w.key for w in journal.writes(run_id)] == ["1"]  # adopting is not writing


def test_a_delete_keeps_its_before_image_and_forgets_the_records_contact(
    database: Database, clock: FakeClock
) -> None:
    runs, journal = RunRepository(database, clock), JournalRepository(database, clock)
    first = runs.start(started_by="Ann", mailbox=MAILBOX, folder_name="Central", selected=2).id
    journal.record(first, entry("1", JournalAction.CREATED, "ck1"))
    journal.record(first, entry("2", JournalAction.CREATED, "ck2"))
    second = runs.start(
        started_by="Ann", mailbox=MAILBOX, folder_name="Central", selected=2, hold_lock=False
    ).id
    held = {"givenName": "Ann", "title": None}
    journal.record(
        second,
        JournalEntry("1", "AAMk1", JournalAction.DELETED, held, baseline={}, change_key=""),
    )
    # A delete of another contact carrying record 2's id leaves record 2's contact known.
    journal.record(
        second,
        JournalEntry("2", "AAMkdup", JournalAction.DELETED, held, baseline={}, change_key=""),
    )
    assert journal.wrote_any(second) and not journal.wrote_any(second + 1)
    assert [(w.key, w.action, w.before) for w in journal.writes(second)] == [
        ("1", JournalAction.DELETED, held),
        ("2", JournalAction.DELETED, held),
    ]
    assert list(journal.contacts(MAILBOX, "Central")) == ["2"]


def test_a_run_counts_its_deletes_and_names_the_run_it_undoes(database: Database) -> None:
    from central365.appdb import OutcomeRecord
    from central365.core.model import Outcome

    runs = RunRepository(database)
    first = runs.start(started_by="Ann", mailbox=MAILBOX, folder_name="Central", selected=1)
    assert (first.deleted, first.undoes) == (0, None)
    undo = runs.start(
        started_by="Ann", mailbox=MAILBOX, folder_name="Other", selected=1, undoes=first.id
    )
    runs.add_outcomes(
        undo.id,
        [
            OutcomeRecord("1", "Ann", "a@example.com", Outcome.DELETED, "AAMk1", None),
            OutcomeRecord("2", "Bo", "b@example.com", Outcome.UPDATED, "AAMk2", None),
        ],
    )
    got = runs.get(undo.id)
    assert got is not None
    assert (got.deleted, got.updated, got.done, got.undoes) == (1, 1, 2, first.id)
    assert [o.outcome for o in runs.outcomes(undo.id)] == [Outcome.DELETED, Outcome.UPDATED]


_BATCHES = itertools.count()
_ACTIONS = st.sampled_from([JournalAction.CREATED, JournalAction.UPDATED, JournalAction.DELETED])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    earlier=st.lists(
        st.tuples(st.sampled_from("1234"), _ACTIONS, st.sampled_from("ab")), max_size=4
    ),
    batch=st.lists(
        st.tuples(st.sampled_from("12345"), _ACTIONS, st.sampled_from("ab")), max_size=8
    ),
)
def test_a_batch_recorded_at_once_leaves_what_recording_it_write_by_write_leaves(
    database: Database,
    earlier: list[tuple[str, JournalAction, str]],
    batch: list[tuple[str, JournalAction, str]],
) -> None:
    """`record_many` (bulk statements, or in order when a record repeats) is `record` in a loop."""
    runs, journal = RunRepository(database), JournalRepository(database)
    n = next(_BATCHES)

    def entries(items: list[tuple[str, JournalAction, str]]) -> list[JournalEntry]:
        return [
            JournalEntry(
                key,
                f"AAMk{key}{suffix}",
                action,
                {} if action is JournalAction.CREATED else {"givenName": "Ann"},
                baseline={} if action is JournalAction.DELETED else {"givenName": suffix},
                change_key=f"ck{suffix}",
            )
            for key, action, suffix in items
        ]

    found = []
    for folder in (f"bulk{n}", f"loop{n}"):
        run = runs.start(
            started_by="Ann", mailbox=MAILBOX, folder_name=folder, selected=0, hold_lock=False
        ).id
        for e in entries(earlier):
            journal.record(run, e)
        if folder.startswith("bulk"):
            journal.record_many(run, entries(batch))
        else:
            for e in entries(batch):
                journal.record(run, e)
        latest = {
            key: (c.office365_id, c.change_key, c.baseline)
            for key, c in journal.contacts(MAILBOX, folder).items()
        }
        writes = [(w.key, w.office365_id, w.action, w.before) for w in journal.writes(run)]
        found.append((latest, writes))
    assert found[0] == found[1]


def test_a_batch_into_an_unknown_run_keeps_none_of_it(database: Database) -> None:
    journal = JournalRepository(database)
    with pytest.raises(LookupError):
        journal.record_many(404, [entry("1", JournalAction.CREATED, "x")] * 2)
    assert journal.writes(404) == []
    journal.record_many(404, [])  # nothing to record: nothing is looked up
