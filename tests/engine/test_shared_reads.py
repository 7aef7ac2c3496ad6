"""SharedReads: one read of Central per target run in a process, never across runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from central365.core.errors import SourceError
from central365.core.model import CentralContact, RowProblem
from central365.core.ports import SourceRows
from central365.engine.shared_reads import SharedReads


class CountingSource:
    """A Central whose every read is counted (and can be made slow, or to fail)."""

    def __init__(self, name: str = "csv:central.csv", *, provided: bool = True) -> None:
        self.name = name
        self.reads = 0
        self.fail = False
        self.slow = 0.0
        self.provided = provided
        self.surname = "Lee"
        self._lock = threading.Lock()

    def describe(self) -> str:
        return self.name

    def read(self) -> Iterator[CentralContact | RowProblem]:
        with self._lock:
            self.reads += 1
        time.sleep(self.slow)
        if self.fail:
            raise SourceError("Central cannot be read.")
        rows = [CentralContact(key="1", status="active", first_name="Ann", last_name=self.surname)]
        return SourceRows(rows, {"first_name", "last_name"}) if self.provided else iter(rows)


def test_the_mailboxes_of_one_run_share_one_read_and_the_next_run_reads_again() -> None:
    shared, central = SharedReads(), CountingSource()
    first = [list(shared.source(7, central).read()) for _ in range(5)]
    assert central.reads == 1 and all(rows == first[0] for rows in first)
    rows = shared.source(7, central).read()
    assert isinstance(rows, SourceRows) and rows.provided == {"first_name", "last_name"}
    central.surname = "Smith"  # Central changed: the next run sees it
    (record,) = list(shared.source(8, central).read())
    assert isinstance(record, CentralContact) and record.last_name == "Smith"
    assert central.reads == 2 == shared.reads


def test_mailboxes_running_at_once_wait_for_the_one_read() -> None:
    shared, central = SharedReads(), CountingSource()
    central.slow = 0.2
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: list(shared.source(1, central).read()), range(8)))
    assert central.reads == 1 and len({tuple(r) for r in results}) == 1


def test_a_failed_read_is_not_kept_and_sources_are_kept_apart() -> None:
    shared, central = SharedReads(), CountingSource(provided=False)
    central.fail = True
    with pytest.raises(SourceError):
        shared.source(1, central).read()
    central.fail = False
    assert not isinstance(shared.source(1, central).read(), SourceRows)
    other = CountingSource("sql:crm")
    list(shared.source(1, other).read())
    assert (central.reads, other.reads) == (2, 1)
    assert shared.source(1, central).describe() == "csv:central.csv"


def test_only_the_last_few_runs_are_kept() -> None:
    shared, central = SharedReads(runs=2), CountingSource()
    for run in (1, 2, 3, 1):
        list(shared.source(run, central).read())
    assert central.reads == 4  # run 1 was forgotten when run 3 came
    list(shared.source(3, central).read())
    assert central.reads == 4
