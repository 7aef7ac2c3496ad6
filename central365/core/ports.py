"""The two seams the service sees: where Central records come from, and the Office 365 side.

Each port has an in-memory implementation (`central365.memory`) that is also the test fake, and
a real adapter (`central365.sources`, `central365.graph`).  One contract suite runs against both.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from central365.core.journal import JournalContact, JournalEntry, JournalWrite, RunSummary
from central365.core.model import (
    CANONICAL_COLUMNS,
    CentralContact,
    ContactWrite,
    FolderContact,
    FolderInfo,
    RowProblem,
    WriteResult,
)

#: Called once per record as soon as its write has ended (for progress bars and live pages).
ResultCallback = Callable[[WriteResult], None]


@runtime_checkable
class BatchedResults(Protocol):
    """A result callback that takes one call's answers together (`batch()` around them).

    Office 365 answers up to 20 writes in one `$batch`; a callback that keeps something per
    result (the journal) stores the call's results in one go when the block ends, so one
    transaction covers them all.  Writers that know no batches just call it per result.
    """

    def __call__(self, result: WriteResult) -> None: ...

    def batch(self) -> AbstractContextManager[None]:
        """Results given inside the block belong to one call; they are handled when it ends."""
        ...


#: Called when a run must wait before its next request: `(reason, seconds)`, e.g.
#: `("throttled: 429 TooManyRequests", 100.0)`, so a front end can say "Office 365 asked us to
#: wait 100 s (throttled: 429 TooManyRequests)".  May be called from worker threads.
WaitCallback = Callable[[str, float], None]

#: Seconds one sync may take in all (`CENTRAL365_RUN_DEADLINE`).
DEFAULT_RUN_DEADLINE = 3600.0


@dataclass(frozen=True, slots=True)
class RunLimits:
    """How long one sync may take in all, and whom to tell while it waits.

    The deadline counts from the moment the Office 365 side is told (`RunLimited.limit_run`);
    records still unwritten when it passes end `skipped` with the reason.
    """

    deadline_s: float = DEFAULT_RUN_DEADLINE
    on_wait: WaitCallback | None = None


@runtime_checkable
class RunLimited(Protocol):
    """An Office 365 side that keeps a run's deadline and reports its waits (optional).

    Graph's mailbox and folder are; the in-memory fake never waits and need not be.  Telling it
    the same `RunLimits` twice keeps the first deadline; `None` lifts the limits (run over).
    """

    def limit_run(self, limits: RunLimits | None) -> None: ...


class SourceRows(Iterator[CentralContact | RowProblem]):
    """What a source's `read()` returns when it knows which canonical columns it has.

    `provided` are those columns: the planner syncs no field whose column is missing (rather
    than clearing it as blank).  A source whose `read()` returns a plain iterator provides all.
    """

    __slots__ = ("_rows", "provided")

    def __init__(
        self,
        rows: Iterable[CentralContact | RowProblem],
        provided: Iterable[str] = CANONICAL_COLUMNS,
    ) -> None:
        self._rows = iter(rows)
        self.provided: frozenset[str] = frozenset(provided)

    def __next__(self) -> CentralContact | RowProblem:
        return next(self._rows)

    def __iter__(self) -> Iterator[CentralContact | RowProblem]:
        """The rows themselves: a loop over a million rows then calls no Python `__next__`
        per row (the same rows, in the same order; `close` still ends them)."""
        return self._rows

    def close(self) -> None:
        """End the underlying generator now (a SQL source then releases its connection)."""
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()


class ContactSource(Protocol):
    """Central's contacts.

    `read()` raises `SourceError` (listing every problem) before yielding anything when the
    source cannot be used at all, and yields a `RowProblem` for a single unreadable row.  It
    may return `SourceRows` to say which columns the source has.
    """

    def describe(self) -> str:
        """Where the records come from, safe to print (no passwords)."""
        ...

    def read(self) -> Iterator[CentralContact | RowProblem]: ...


class ContactsFolder(Protocol):
    """One contacts folder of one mailbox."""

    @property
    def info(self) -> FolderInfo: ...

    def contacts(self) -> Iterator[FolderContact]:
        """Every contact of this folder (never of another folder)."""
        ...

    def find_by_email(self, email: str) -> list[FolderContact]:
        """The contacts of this folder that carry `email` (any case) in `emailAddresses`."""
        ...

    def write(
        self, writes: Sequence[ContactWrite], on_result: ResultCallback | None = None
    ) -> list[WriteResult]:
        """Apply every write; one result per write, whatever fails.  Never raises for one record.

        A `WriteKind.DELETE` ends `deleted`; a contact already gone from the folder counts as
        deleted too, with the note `model.ALREADY_GONE`.
        """
        ...


class Mailbox(Protocol):
    """The Office 365 mailbox that holds the target folder."""

    @property
    def name(self) -> str:
        """The mailbox as configured (`me`, a UPN or an id)."""
        ...

    def folders(self) -> list[FolderInfo]:
        """Every contacts folder of the mailbox, child folders included."""
        ...

    def find_folder(self, display_name: str) -> FolderInfo | None:
        """The folder with this display name; raises `Conflict` when two share it."""
        ...

    def create_folder(self, display_name: str) -> FolderInfo: ...

    def folder(self, info: FolderInfo) -> ContactsFolder: ...


class JournalReader(Protocol):
    """What a plan reads of the journal: the last run (guards) and the baselines (three-way)."""

    def last_run(self, mailbox: str, folder_name: str) -> RunSummary | None:
        """The newest run into this mailbox folder that planned (any case, trimmed)."""
        ...

    def contacts(self, mailbox: str, folder_name: str) -> dict[str, JournalContact]:
        """What the journal holds for the folder, by Central id."""
        ...


class Journal(JournalReader, Protocol):
    """What central365 remembers of its runs (kept in the application database).

    The engine records each write as soon as its answer is read, so a run killed at any point
    leaves a journal that matches Office 365 (a contact written but not yet journalled still
    carries its anchor and is found again on the next plan).  Runs themselves are started and
    ended by the front end that owns them (their lock, who started them); the journal only adds
    to a run it is given the id of.
    """

    def note_plan(self, run_id: int, active_records: int) -> None:
        """The run's fresh plan saw this many active Central records."""
        ...

    def record(self, run_id: int, entry: JournalEntry) -> None:
        """Remember one write of the run: the record's contact, baseline, changeKey, and the
        run's before-image of it, in one transaction.  A delete (`JournalAction.DELETED`)
        keeps its before-image and forgets the record's contact if it was the one deleted."""
        ...

    def record_many(self, run_id: int, entries: Sequence[JournalEntry]) -> None:
        """`record` each of `entries` in order, all in one transaction (one `$batch`'s answers:
        a run killed meanwhile leaves all of them journalled or none)."""
        ...

    def adopt(self, run_id: int, entries: Sequence[JournalEntry]) -> int:
        """Remember the contacts among `entries` that the journal lacks for the run's folder
        (found by their anchors after a run died before journalling them); returns how many.
        Known ones are left as they are, and no run is said to have written them."""
        ...

    def last_run(self, mailbox: str, folder_name: str) -> RunSummary | None:
        """The newest run into this mailbox folder that planned (any case, trimmed)."""
        ...

    def contacts(self, mailbox: str, folder_name: str) -> dict[str, JournalContact]:
        """What the journal holds for the folder, by Central id."""


@runtime_checkable
class UndoJournal(Protocol):
    """What an undo reads of the journal: the run's before-images and the folder's records."""

    def writes(self, run_id: int) -> list[JournalWrite]:
        """Every contact the run wrote, in the order it wrote them."""
        ...

    def contacts(self, mailbox: str, folder_name: str) -> dict[str, JournalContact]:
        """What the journal holds for the folder, by Central id."""
        ...


#: One contact as Graph last showed it: its projected properties (`$select`ed JSON).
ContactJson = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FolderSnapshot:
    """A folder's contacts as last seen, by id, and the deltaLink that continues from there.

    The contacts are kept as Graph's projected JSON, not as `FolderContact`s, so a property
    read later (an extended property) is one more key, not a schema change.
    """

    delta_link: str
    contacts: Mapping[str, ContactJson]


class FolderCache(Protocol):
    """Where one mailbox's folders are remembered between plans (the application database).

    Keyed by folder id within the mailbox the cache was opened for.  Implementations make each
    call one transaction: a snapshot is never seen half-written.
    """

    def load(self, folder_id: str) -> FolderSnapshot | None: ...

    def replace(self, folder_id: str, snapshot: FolderSnapshot) -> None:
        """Forget what was kept for the folder and keep `snapshot` (after a full read)."""
        ...

    def update(
        self,
        folder_id: str,
        delta_link: str,
        changed: Mapping[str, ContactJson],
        removed: Collection[str],
    ) -> None:
        """Apply one delta round: upsert `changed`, drop `removed`, keep the new link."""
        ...
