"""A run's outcomes, queued as they arrive and written in groups by a thread of their own.

The run's callbacks only queue (`add`), so a slow database never holds up Office 365's answers;
the writer's thread writes at least every `interval` seconds, or at once when `FLUSH_BATCH`
are queued, and `close` writes what is left (retrying), so an outcome the run received is
recorded even when the run then dies.  (Split from `engine.runs`.)
"""

from __future__ import annotations

import logging
import threading
import time

from central365.appdb import OutcomeRecord, RunRepository

log = logging.getLogger(__name__)

#: Outcomes written at once at most; a fuller queue is written without waiting.
FLUSH_BATCH = 500


class OutcomeWriter:
    """Queues a run's outcomes and writes them in groups from its own thread."""

    def __init__(self, runs: RunRepository, run_id: int, interval: float) -> None:
        self._runs = runs
        self._run_id = run_id
        self._interval = interval
        self._pending: list[OutcomeRecord] = []
        self._lock = threading.Lock()  # guards _pending
        self._write_lock = threading.Lock()  # one write at a time, so order is kept
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"central365-run-{run_id}-outcomes", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def add(self, outcome: OutcomeRecord) -> None:
        with self._lock:
            self._pending.append(outcome)
            full = len(self._pending) >= FLUSH_BATCH
        if full:
            self._wake.set()

    def flush(self) -> bool:
        """Write what is queued; on failure keep it queued for the next try.  True when done."""
        with self._write_lock:
            while True:
                with self._lock:
                    batch = self._pending[:FLUSH_BATCH]
                    del self._pending[:FLUSH_BATCH]
                if not batch:
                    return True
                try:
                    self._runs.add_outcomes(self._run_id, batch)
                except Exception:
                    log.exception(
                        "Could not record %d outcomes of run %d", len(batch), self._run_id
                    )
                    with self._lock:
                        self._pending[:0] = batch
                    return False

    def close(self, attempts: int = 3) -> None:
        """Stop the thread and write everything still queued (retrying a few times)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        for attempt in range(attempts):
            if self.flush():
                return
            time.sleep(self._interval * (attempt + 1))
        with self._lock:
            lost = len(self._pending)
        log.error("%d outcomes of run %d could not be recorded", lost, self._run_id)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()
