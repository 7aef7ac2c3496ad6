"""A run says how many records it will process from the moment it starts, not "0 of 0"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from central365.appdb import RunRepository, RunStatus
from central365.core.execute import Selection
from central365.engine.runs import RunManager, RunRequest
from central365.engine.service import SyncService
from central365.mailstore.store import SandboxStore
from central365.memory import InMemoryMailbox, InMemorySource

from .conftest import FOLDER, MAILBOX, person

PEOPLE = [person(n) for n in range(1, 6)]


def test_the_total_is_the_selection_until_the_fresh_plan_counts_it(
    runs: RunRepository, store: SandboxStore
) -> None:
    opening = threading.Event()
    may_open = threading.Event()

    @contextmanager
    def slow_service() -> Iterator[SyncService]:
        opening.set()
        assert may_open.wait(10), "the test never let the service open"
        yield SyncService(InMemorySource(PEOPLE), InMemoryMailbox(store, MAILBOX), FOLDER)

    manager = RunManager(runs)
    try:
        # "9" is not in Central: the fresh plan counts 3 outcomes (2 creates, 1 skip).
        selection = Selection(keys=frozenset({"1", "2", "9"}))
        started = manager.start(RunRequest("Ann", selection, slow_service, "lock"))
        assert (started.selected, started.total) == (3, 3)
        assert opening.wait(10)
        before_plan = runs.get(started.id)
        assert before_plan is not None
        assert (before_plan.status, before_plan.done, before_plan.total) == (
            RunStatus.RUNNING,
            0,
            3,
        )
        may_open.set()
        assert manager.wait(started.id, 10)
        after = runs.get(started.id)
        assert after is not None
        assert (after.total, after.created, after.skipped, after.done) == (3, 2, 1, 3)
    finally:
        may_open.set()
        manager.shutdown(5)


def test_a_bulk_selection_has_no_total_before_its_plan(
    runs: RunRepository, store: SandboxStore
) -> None:
    """Only the CLI selects a whole state without keys; the web turns states into keys."""
    may_open = threading.Event()

    @contextmanager
    def slow_service() -> Iterator[SyncService]:
        assert may_open.wait(10)
        yield SyncService(InMemorySource(PEOPLE), InMemoryMailbox(store, MAILBOX), FOLDER)

    manager = RunManager(runs)
    try:
        started = manager.start(RunRequest("Ann", Selection(everything=True), slow_service, "l"))
        assert (started.selected, started.total) == (0, 0)
        may_open.set()
        assert manager.wait(started.id, 10)
        after = runs.get(started.id)
        assert after is not None and after.total == after.created == 5
    finally:
        may_open.set()
        manager.shutdown(5)
