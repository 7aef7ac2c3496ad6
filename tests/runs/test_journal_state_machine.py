"""The journal and undo as a Hypothesis state machine, on the in-memory folder and a SQLite journal.

Random Central changes (a new record, an edit, an email change, a record made inactive), random
Outlook edits and deletes, journalled runs (sync all, or deleting chosen contacts) and undos of
the last run.  After every
step:

- the journal agrees with the folder: each record it holds names a contact that is there with
  the journalled changeKey, unless Outlook edited or deleted that contact since central365 last
  wrote it;
- no Central record ever has two contacts, and a person's own contact is never touched;
- right after an undo of the last run, every contact that run wrote and nothing changed since
  is exactly as it was before that run (created ones gone, updated ones restored, deleted ones
  made again with the values they had).

Kept fast and deterministic: a migrated SQLite file is copied for each example, few examples,
short runs, `derandomize`.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from central365.appdb import Database, JournalRepository, RunRepository, migrate, open_database
from central365.core.execute import Selection
from central365.core.mapping import synced_values
from central365.core.model import CentralContact, FolderContact
from central365.engine.journaling import JournalRun
from central365.engine.service import SyncService
from central365.mailstore.store import SandboxStore, seed_folder
from central365.memory import InMemoryMailbox, InMemorySource

MAILBOX = "machine@contoso.test"
FOLDER = "Central Contacts"
OWN = {
    "displayName": "Own Person",
    "givenName": "Own",
    "surname": "Person",
    "emailAddresses": [{"address": "own@example.com", "name": "Own"}],
}

Snapshot = dict[str, dict[str, str]]


@cache
def _template() -> Path:
    """A migrated application database, made once per test session and copied per example."""
    directory = Path(tempfile.mkdtemp(prefix="central365-machine-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "template.db"
    migrate(f"sqlite:///{path}")
    return path


class JournalMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = Path(tempfile.mkdtemp(prefix="central365-machine-"))
        shutil.copy(_template(), self._dir / "app.db")
        self.database: Database = open_database(f"sqlite:///{self._dir / 'app.db'}")
        self.runs = RunRepository(self.database)
        self.journal = JournalRepository(self.database)
        self.store = SandboxStore(default_mailbox=MAILBOX)
        own = seed_folder(self.store, MAILBOX, FOLDER, [OWN])
        self.folder_id = own["id"]
        (self.own,) = self.store.list_contacts(MAILBOX, self.folder_id)
        self.mailbox = InMemoryMailbox(self.store, MAILBOX)
        self.central: dict[str, CentralContact] = {}
        self.serial = 0
        #: Contacts Outlook edited or deleted since central365 last wrote them.
        self.touched: set[str] = set()
        #: The last run, the folder by anchor before it, and the anchors Outlook touched since.
        self.last_run: int | None = None
        self.before_last: Snapshot = {}
        self.touched_since_last: set[str] = set()

    def teardown(self) -> None:
        self.database.dispose()
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------

    def contacts(self) -> list[FolderContact]:
        info = self.mailbox.find_folder(FOLDER)
        assert info is not None
        return list(self.mailbox.folder(info).contacts())

    def by_anchor(self) -> Snapshot:
        return {c.anchor: synced_values(c) for c in self.contacts() if c.anchor}

    def service(self) -> SyncService:
        return SyncService(InMemorySource(list(self.central.values())), self.mailbox, FOLDER)

    def start(self, undoes: int | None = None) -> int:
        return self.runs.start(
            started_by="machine",
            mailbox=MAILBOX,
            folder_name=FOLDER,
            selected=0,
            hold_lock=False,
            undoes=undoes,
        ).id

    def new_email(self) -> str:
        self.serial += 1
        return f"person{self.serial}@example.com"

    def wrote(self, run_id: int) -> None:
        """After a run: what it wrote is central365's again; it is now the last run."""
        written = {w.office365_id for w in self.journal.writes(run_id)}
        self.touched -= written
        self.last_run = run_id
        self.touched_since_last = set()

    # -- Central ---------------------------------------------------------------------------

    @rule(first=st.sampled_from(["Ann", "Bo", "Cy"]), mobile=st.sampled_from(["", "07700 900001"]))
    def add_record(self, first: str, mobile: str) -> None:
        key = str(len(self.central) + 1)
        self.central[key] = CentralContact(
            key=key,
            status="Active",
            first_name=first,
            last_name=f"K{key}",
            email=self.new_email(),
            mobile=mobile,
        )

    @precondition(lambda self: bool(self.central))
    @rule(
        data=st.data(),
        first=st.sampled_from(["Dee", "Eve"]),
        mobile=st.sampled_from(["", "07700 900002"]),
    )
    def edit_record(self, data: st.DataObject, first: str, mobile: str) -> None:
        key = data.draw(st.sampled_from(sorted(self.central)))
        self.central[key] = self.central[key]._replace(first_name=first, mobile=mobile)

    @precondition(lambda self: bool(self.central))
    @rule(data=st.data())
    def change_email(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.central)))
        self.central[key] = self.central[key]._replace(email=self.new_email())

    @precondition(lambda self: bool(self.central))
    @rule(data=st.data())
    def deactivate(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.central)))
        self.central[key] = self.central[key]._replace(status="Inactive")

    # -- Outlook ---------------------------------------------------------------------------

    def _anchored(self) -> list[FolderContact]:
        return sorted((c for c in self.contacts() if c.anchor), key=lambda c: c.anchor)

    @precondition(lambda self: bool(self._anchored()))
    @rule(data=st.data(), value=st.sampled_from(["07700 900999", "Outlook"]))
    def outlook_edit(self, data: st.DataObject, value: str) -> None:
        contact = data.draw(st.sampled_from(self._anchored()))
        field = "mobilePhone" if value.startswith("0") else "givenName"
        self.store.update_contact(MAILBOX, contact.id, {field: value})
        self.touched.add(contact.id)
        self.touched_since_last.add(contact.anchor)

    @precondition(lambda self: bool(self._anchored()))
    @rule(data=st.data())
    def outlook_delete(self, data: st.DataObject) -> None:
        contact = data.draw(st.sampled_from(self._anchored()))
        self.store.delete_contact(MAILBOX, contact.id)
        self.touched.add(contact.id)
        self.touched_since_last.add(contact.anchor)

    # -- runs ------------------------------------------------------------------------------

    @rule()
    def sync(self) -> None:
        before = self.by_anchor()
        run_id = self.start()
        outcome = self.service().sync(
            Selection(everything=True),
            allow_mass_change=True,
            journal=JournalRun(self.journal, run_id),
        )
        assert outcome.report.failed == 0 and outcome.journal_failures == 0
        self.wrote(run_id)
        self.before_last = before

    @precondition(lambda self: bool(self._anchored()))
    @rule(data=st.data())
    def delete_run(self, data: st.DataObject) -> None:
        """A run that deletes chosen contacts (as an admin deleting orphans would)."""
        chosen = data.draw(
            st.lists(
                st.sampled_from(self._anchored()), min_size=1, max_size=2, unique_by=lambda c: c.id
            )
        )
        before = self.by_anchor()
        run_id = self.start()
        outcome = self.service().delete(
            [c.id for c in chosen], journal=JournalRun(self.journal, run_id)
        )
        assert outcome.report.failed == 0 and outcome.journal_failures == 0
        assert not {c.anchor for c in chosen} & set(self.by_anchor())
        self.wrote(run_id)
        self.before_last = before

    @precondition(lambda self: self.last_run is not None)
    @rule()
    def undo_last(self) -> None:
        assert self.last_run is not None
        undone, before, touched = self.last_run, self.before_last, self.touched_since_last
        writes = self.journal.writes(undone)
        now = self.by_anchor()
        run_id = self.start(undoes=undone)
        outcome = self.service().undo(
            undone, self.journal, journal=JournalRun(self.journal, run_id)
        )
        assert outcome.report.failed == 0 and outcome.journal_failures == 0
        after = self.by_anchor()
        # Where nothing changed since, the folder is exactly as it was before the undone run.
        for write in writes:
            if write.key in touched:
                continue
            assert after.get(write.key) == before.get(write.key), write
        # Nothing else changed.
        others = set(now) | set(after)
        for key in others - {w.key for w in writes}:
            assert after.get(key) == now.get(key), key
        self.wrote(run_id)
        self.before_last = now

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def journal_agrees_with_the_folder(self) -> None:
        folder = {c.id: c for c in self.contacts()}
        for key, entry in self.journal.contacts(MAILBOX, FOLDER).items():
            if entry.office365_id in self.touched:
                continue
            contact = folder.get(entry.office365_id)
            assert contact is not None, key
            assert contact.anchor == key
            assert contact.change_key == entry.change_key, key

    @invariant()
    def no_record_has_two_contacts_and_own_contacts_are_left_alone(self) -> None:
        contacts = self.contacts()
        anchors = [c.anchor for c in contacts if c.anchor]
        assert len(anchors) == len(set(anchors))
        (own,) = [c for c in contacts if not c.anchor]
        assert (own.id, own.change_key) == (self.own["id"], self.own["changeKey"])


JournalMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_journal_state_machine = JournalMachine.TestCase
