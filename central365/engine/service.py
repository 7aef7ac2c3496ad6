"""The use-cases shared by the command line and the web app: plan, synchronise, list folders.

Fetch first, plan second, execute third: the service reads Central and the folder, hands plain
records to the pure planner, then sends the selected writes.  A sync always plans again right
before writing, so it acts on what Central and Office 365 hold now, not on a stale page.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

from central365.core.errors import Central365Error, MassChangeRefused
from central365.core.execute import Selection, SyncReport, execute, select
from central365.core.guards import GuardThresholds, check_guards
from central365.core.model import FolderContact, FolderInfo, Guard, Orphan, Outcome, Plan
from central365.core.orphans import chosen_orphans, orphan_guards
from central365.core.plan import build_plan
from central365.core.policy import DeletedContacts, FieldPolicy
from central365.core.ports import (
    DEFAULT_RUN_DEADLINE,
    ContactSource,
    JournalReader,
    Mailbox,
    ResultCallback,
    RunLimited,
    RunLimits,
    SourceRows,
    UndoJournal,
    WaitCallback,
)
from central365.core.undo import UndoPlan
from central365.engine.collector import cycle_collector_paused
from central365.engine.deletion import (
    DeleteOutcome,
    delete_contacts,
    missing_folder,
    open_folder,
)
from central365.engine.journaling import Journaling, JournalRun, adoptions
from central365.engine.plan_memo import PlanMemo
from central365.engine.progress import PROGRESS_STEP, PlanProgress, PlanStage
from central365.engine.undoing import UndoOutcome, read_undo, write_undo

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class FolderRef:
    """The configured folder: its id when it exists."""

    name: str
    id: str | None
    exists: bool


@dataclass(frozen=True, slots=True)
class PlanReport:
    """A plan with what it was made against and when.

    `previous_source_size` is the active Central's size at the last run the plan's guards were
    checked against (None: not known), so a sync acting on this plan checks the same.
    """

    mailbox: str
    folder: FolderRef
    plan: Plan
    made_at: datetime
    previous_source_size: int | None = None


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What a sync did, and the plan it acted on."""

    planned: PlanReport
    report: SyncReport
    folder_created: bool
    #: Writes that ended `skipped` because the run stopped (deadline, breaker, a wait longer
    #: than the time left): the sync did not finish, and should exit 1.
    unwritten: int = 0
    #: Why it stopped (the first such write's reason); "" when it did not.
    stop_reason: str = ""
    #: Writes that happened but could not be journalled (their contacts carry their anchors).
    journal_failures: int = 0


class SyncService:
    """Plan and synchronise one Central source into one named folder of one mailbox.

    `run_deadline` is the seconds one `sync()` may take in all (`CENTRAL365_RUN_DEADLINE`);
    `guard_thresholds` say how much one run may change before it must be allowed;
    `field_policies` how each synced field is written (`core.policy`; None: all `overwrite`);
    `deleted_contacts` what a contact it wrote and a person deleted in Outlook becomes.
    `memo` hands back the folder's last plan when its inputs are as they were (a long-lived
    front end keeps one across services; see `engine.plan_memo`).
    """

    def __init__(
        self,
        source: ContactSource,
        mailbox: Mailbox,
        folder_name: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        run_deadline: float = DEFAULT_RUN_DEADLINE,
        guard_thresholds: GuardThresholds | None = None,
        memo: PlanMemo | None = None,
        field_policies: Mapping[str, FieldPolicy] | None = None,
        deleted_contacts: DeletedContacts = DeletedContacts.RECREATE,
    ) -> None:
        self.source = source
        self.mailbox = mailbox
        self.folder_name = folder_name
        self._clock = clock
        self.run_deadline = run_deadline
        self.guard_thresholds = guard_thresholds or GuardThresholds()
        self.field_policies: Mapping[str, FieldPolicy] = dict(field_policies or {})
        self.deleted_contacts = deleted_contacts
        #: The anchored contacts the last plan read, by id: a journalled sync adopts those the
        #: journal lacks (see `engine.journaling.adoptions`).
        self._anchored: dict[str, FolderContact] = {}
        #: The Central ids the journal held for the folder when the last plan was made.
        self._journalled: Collection[str] = frozenset()
        self._memo = memo

    @cycle_collector_paused()  # millions of objects and no cycles: see `collector.py`
    def plan(
        self,
        previous_source_size: int | None = None,
        *,
        journal: JournalReader | None = None,
        progress: PlanProgress | None = None,
    ) -> PlanReport:
        """Read Central and the folder, plan, and check the guards against mass changes.

        A missing folder plans as an empty one.  `previous_source_size` is the active Central's
        size at the last run (None: unknown, `source_shrunk` is not checked).  `journal`: the
        plan compares three ways with the baselines it holds for the folder (Outlook's edits
        since central365's last write are flagged, and kept where the policy says so), and it
        gives `previous_source_size` when that is not passed.

        The two reads overlap: the folder's pages mostly wait on the network while Central is
        read.  A Central that cannot be read wins over anything the folder read meets, and
        nothing is written either way.  `progress` is kept up to date as the plan is made.
        """
        progress = PlanProgress() if progress is None else progress
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="central365-folder-read")
        folder_read = pool.submit(self._read_folder, progress)
        try:
            rows = self.source.read()
            provided = rows.provided if isinstance(rows, SourceRows) else None
            records = _counted(rows, progress, "records_read")
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        try:
            info, contacts = folder_read.result()
        finally:
            pool.shutdown(wait=False)
        progress.stage = PlanStage.PLANNING

        def decided(count: int, total: int) -> None:
            progress.planned, progress.records = count, total

        ref = FolderRef(self.folder_name, info.id if info else None, info is not None)
        baselines = None
        if journal is not None:
            baselines = journal.contacts(self.mailbox.name, self.folder_name)
            if previous_source_size is None:
                previous_source_size = self.previous_source_size(journal)
        if self._memo is not None:
            plan = self._memo.plan(
                f"{self.mailbox.name}\n{ref.id}",
                records,
                contacts,
                provided_columns=provided,
                baselines=baselines,
                policies=self.field_policies,
                deleted_contacts=self.deleted_contacts,
                on_decided=decided,
            )
        else:
            plan = build_plan(
                records,
                contacts,
                provided_columns=provided,
                baselines=baselines,
                policies=self.field_policies,
                deleted_contacts=self.deleted_contacts,
                on_decided=decided,
            )
        del records
        progress.planned, progress.stage = len(plan.items), PlanStage.DONE
        self._anchored = {c.id: c for c in contacts if c.anchor}
        self._journalled = frozenset(baselines) if baselines is not None else frozenset()
        guards = check_guards(
            plan, self.guard_thresholds, previous_source_size=previous_source_size
        )
        return PlanReport(
            self.mailbox.name,
            ref,
            replace(plan, guards=guards),
            self._clock(),
            previous_source_size,
        )

    def _read_folder(self, progress: PlanProgress) -> tuple[FolderInfo | None, list[FolderContact]]:
        info = self.mailbox.find_folder(self.folder_name)
        if info is None:
            return None, []
        return info, _counted(self.mailbox.folder(info).contacts(), progress, "contacts_read")

    def sync(
        self,
        selection: Selection,
        on_result: ResultCallback | None = None,
        on_plan: Callable[[PlanReport, int], None] | None = None,
        planned: PlanReport | None = None,
        on_wait: WaitCallback | None = None,
        *,
        allow_mass_change: bool = False,
        previous_source_size: int | None = None,
        journal: JournalRun | None = None,
    ) -> SyncOutcome:
        """Plan again, create the folder if writes need it, then write the selected records.

        `on_plan` is told the fresh plan and how many writes will be sent, before any is.
        `planned` skips the fresh plan when the caller has just made one (and shown it);
        `previous_source_size` is passed to the fresh plan (`plan()`).  Unless
        `allow_mass_change`, a selection that trips a guard raises `MassChangeRefused`
        before anything is written.
        `on_wait(reason, seconds)` is told whenever Office 365 makes the run wait (may be
        called from worker threads).  The run's deadline starts here; records still unwritten
        when it passes end `skipped` with the reason.  `journal`: each write is recorded there
        as its answer is read, and the plan's count of active Central records noted.
        """
        limits = RunLimits(self.run_deadline, on_wait)
        limited: list[RunLimited] = []
        try:
            return self._sync(
                selection,
                on_result,
                on_plan,
                planned,
                limits,
                limited,
                allow_mass_change,
                previous_source_size,
                journal,
            )
        finally:
            for side in limited:  # later calls (a replan) are not bound by this run's deadline
                side.limit_run(None)

    def _sync(
        self,
        selection: Selection,
        on_result: ResultCallback | None,
        on_plan: Callable[[PlanReport, int], None] | None,
        planned: PlanReport | None,
        limits: RunLimits,
        limited: list[RunLimited],
        allow_mass_change: bool,
        previous_source_size: int | None,
        journal: JournalRun | None,
    ) -> SyncOutcome:
        _limit(self.mailbox, limits, limited)
        if journal is not None and previous_source_size is None:
            previous_source_size = self.previous_source_size(journal.journal)
        if planned is None:
            planned = self.plan(
                previous_source_size, journal=journal.journal if journal is not None else None
            )
        writes, skipped = select(planned.plan, selection)
        if not allow_mass_change:
            # Before the journal hears of the plan: a refused run is no baseline for later guards.
            self.refuse_mass_change(planned, {w.key for w in writes})
        journaling = None
        if journal is not None:
            journal.journal.note_plan(journal.run_id, len(planned.plan.items))
            journal.journal.adopt(
                journal.run_id, adoptions(planned.plan, self._anchored, self._journalled)
            )
            on_result = journaling = Journaling(journal, planned.plan, on_result)
        if on_plan is not None:
            on_plan(planned, len(writes))
        folder_created = False
        if writes and planned.folder.id is None:
            info = self.mailbox.create_folder(self.folder_name)
            planned = replace(planned, folder=FolderRef(self.folder_name, info.id, True))
            folder_created = True
        if planned.folder.id is None:
            for result in skipped:
                if on_result is not None:
                    on_result(result)
            return SyncOutcome(planned, SyncReport(tuple(skipped)), folder_created)
        folder = self.mailbox.folder(FolderInfo(planned.folder.id, self.folder_name))
        _limit(folder, limits, limited)
        report = execute(planned.plan, selection, folder, on_result)
        keys = {w.key for w in writes}
        stopped = [r for r in report.results if r.key in keys and r.outcome is Outcome.SKIPPED]
        reason = next((r.error for r in stopped if r.error), "")
        failures = journaling.failures if journaling is not None else 0
        return SyncOutcome(planned, report, folder_created, len(stopped), reason, failures)

    def delete(
        self,
        office365_ids: Collection[str],
        on_result: ResultCallback | None = None,
        on_wait: WaitCallback | None = None,
        *,
        journal: JournalRun | None = None,
    ) -> DeleteOutcome:
        """Delete the chosen contacts of the folder (by Office 365 id), batched like a sync.

        The folder is read again first: a contact already gone, or without a Central anchor
        (people's own), ends `skipped` with why; the others end `deleted` (a 404 counts, with a
        note) or `failed`.  `journal`: each delete is recorded with the contact's synced values
        as its before-image, and the journal forgets the record's contact.  The run's
        deadline starts here, as for `sync`.  Guards and the folder's lease are the caller's.
        """
        limits = RunLimits(self.run_deadline, on_wait)
        limited: list[RunLimited] = []
        try:
            _limit(self.mailbox, limits, limited)
            folder = open_folder(self.mailbox, self.folder_name)
            if folder is None:
                outcome = missing_folder(self.folder_name, office365_ids)
                for result in outcome.report.results:
                    if on_result is not None:
                        on_result(result)
                return outcome
            _limit(folder, limits, limited)
            return delete_contacts(folder, office365_ids, on_result, journal)
        finally:
            for side in limited:
                side.limit_run(None)

    def orphans_to_delete(
        self, planned: PlanReport, wanted: Collection[str], *, allow_mass_change: bool = False
    ) -> tuple[Orphan, ...]:
        """The orphans of `planned` named in `wanted` (Central or Office 365 ids).

        Raises `Central365Error` naming what is no orphan of the plan (or when nothing is
        named), and `MassChangeRefused` when deleting them is more of the folder than
        `delete_percent` allows and not `allow_mass_change`.
        """
        chosen, unknown = chosen_orphans(planned.plan, wanted)
        if unknown:
            raise Central365Error(
                f"Not a contact only in Office 365: {', '.join(unknown)}. Nothing was deleted: "
                "name orphans by the Central id or Office 365 id the orphans list shows."
            )
        if not chosen:
            raise Central365Error("Choose the orphans to delete first: nothing was deleted.")
        if not allow_mass_change:
            tripped = orphan_guards(planned.plan, chosen, self.guard_thresholds)
            if tripped:
                raise MassChangeRefused(tripped)
        return chosen

    def delete_orphans(
        self,
        planned: PlanReport,
        wanted: Collection[str],
        on_result: ResultCallback | None = None,
        on_wait: WaitCallback | None = None,
        *,
        allow_mass_change: bool = False,
        journal: JournalRun | None = None,
    ) -> DeleteOutcome:
        """Delete the orphans of `planned` named in `wanted`, checked by `orphans_to_delete`
        before anything is deleted; the rest is `delete`'s (the folder read again, each
        delete batched and journalled: an undoable run)."""
        chosen = self.orphans_to_delete(planned, wanted, allow_mass_change=allow_mass_change)
        return self.delete([o.office365_id for o in chosen], on_result, on_wait, journal=journal)

    def plan_undo(self, run_id: int, journal: UndoJournal) -> UndoPlan:
        """What undoing run `run_id` (a run into this folder) would do now (`core.undo`)."""
        return read_undo(self.mailbox, self.folder_name, run_id, journal)

    def undo(
        self,
        run_id: int,
        reader: UndoJournal,
        on_result: ResultCallback | None = None,
        on_wait: WaitCallback | None = None,
        *,
        journal: JournalRun | None = None,
        on_plan: Callable[[UndoPlan], None] | None = None,
    ) -> UndoOutcome:
        """Undo run `run_id`: plan it again from the folder as it is now, then write it.

        Batched like a sync and under the same deadline; `on_plan` is told the fresh plan
        before anything is written.  `journal`: the undo's run, each write journalled as its
        answer is read (the undo can be undone in turn).  The folder's lease and the History
        run (`RunRepository.start(..., undoes=run_id)`) are the caller's.
        """
        limits = RunLimits(self.run_deadline, on_wait)
        limited: list[RunLimited] = []

        def limit(side: object) -> None:
            _limit(side, limits, limited)

        try:
            limit(self.mailbox)
            planned = self.plan_undo(run_id, reader)
            if on_plan is not None:
                on_plan(planned)
            return write_undo(self.mailbox, self.folder_name, planned, on_result, journal, limit)
        finally:
            for side in limited:
                side.limit_run(None)

    def previous_source_size(self, journal: JournalReader) -> int | None:
        """How many active Central records the last run into this folder planned (None: none did)."""
        last = journal.last_run(self.mailbox.name, self.folder_name)
        return last.active_records if last is not None else None

    def guards_for(self, planned: PlanReport, keys: Collection[str]) -> tuple[Guard, ...]:
        """The guards that writing the records `keys` of the plan would trip."""
        return check_guards(
            planned.plan,
            self.guard_thresholds,
            previous_source_size=planned.previous_source_size,
            selected=keys,
        )

    def refuse_mass_change(self, planned: PlanReport, keys: Collection[str]) -> None:
        """Raise `MassChangeRefused` when writing `keys` of the plan trips a guard."""
        tripped = self.guards_for(planned, keys)
        if tripped:
            raise MassChangeRefused(tripped)

    def folders(self) -> list[FolderInfo]:
        return self.mailbox.folders()


def _counted(items: Iterable[_T], progress: PlanProgress, counter: str) -> list[_T]:
    """`list(items)`, with `progress.<counter>` told the count every `PROGRESS_STEP` items."""
    found: list[_T] = []
    extend, chunks = found.extend, iter(items)
    while chunk := list(islice(chunks, PROGRESS_STEP)):
        extend(chunk)
        setattr(progress, counter, len(found))
    return found


def _limit(side: object, limits: RunLimits, limited: list[RunLimited]) -> None:
    """Tell an Office 365 side that keeps deadlines (Graph) about the run; fakes need not."""
    if isinstance(side, RunLimited):
        side.limit_run(limits)
        limited.append(side)
