"""Central read once per target run in a process, whatever the number of its mailboxes.

Every mailbox of one target run plans against the same Central at about the same moment, and
a worker runs many of them at once: reading Central again for each (a 20,000-row query or
export, per mailbox) costs the source and the worker far more than the mailbox's own delta
round.  `SharedReads` keeps the records of the last few target runs, keyed by the run's id and
the source's description, so the first mailbox of a run reads and the others take its rows.

Never across runs: Central is the source of truth, each target run reads it afresh (the key
holds the run's id).  A read that fails is not kept: the next mailbox (or a retry) reads again.
Must not: outlive the process, or hold more than `DEFAULT_RUNS` runs' rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from central365.core.model import CentralContact, RowProblem
from central365.core.ports import ContactSource, SourceRows

#: Target runs whose Central rows are kept (runs of several targets may overlap).
DEFAULT_RUNS = 4

_Key = tuple[int, str]


@dataclass(frozen=True, slots=True)
class _Read:
    records: tuple[CentralContact | RowProblem, ...]
    provided: frozenset[str] | None


class SharedReads:
    """The Central rows of the last few target runs of this process (thread-safe)."""

    def __init__(self, runs: int = DEFAULT_RUNS) -> None:
        self._runs = runs
        self._reads: OrderedDict[_Key, _Read] = OrderedDict()
        self._locks: dict[_Key, threading.Lock] = {}
        self._guard = threading.Lock()
        #: Reads of Central made (the others were shared): for tests and the bench.
        self.reads = 0

    def source(self, target_run_id: int, source: ContactSource) -> ContactSource:
        """`source` as seen by one mailbox of the target run: read once for the run."""
        return _RunSource(self, (target_run_id, source.describe()), source)

    def _read(self, key: _Key, source: ContactSource) -> _Read:
        with self._guard:
            kept = self._reads.get(key)
            if kept is not None:
                self._reads.move_to_end(key)
                return kept
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one mailbox reads; the others of the run wait for its rows
            with self._guard:
                kept = self._reads.get(key)
            if kept is not None:
                return kept
            rows = source.read()
            provided = rows.provided if isinstance(rows, SourceRows) else None
            read = _Read(tuple(rows), provided)
            with self._guard:
                self.reads += 1
                self._reads[key] = read
                while len(self._reads) > self._runs:
                    old, _ = self._reads.popitem(last=False)
                    self._locks.pop(old, None)
            return read


class _RunSource:
    """One target run's view of a source: `read()` gives the run's shared rows."""

    def __init__(self, shared: SharedReads, key: _Key, source: ContactSource) -> None:
        self._shared = shared
        self._key = key
        self._source = source

    def describe(self) -> str:
        return self._source.describe()

    def read(self) -> Iterator[CentralContact | RowProblem]:
        read = self._shared._read(self._key, self._source)
        if read.provided is None:
            return iter(read.records)
        return SourceRows(read.records, read.provided)
