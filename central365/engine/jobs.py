"""A target run's jobs: read its mailboxes, then one job per mailbox, retried when it may pass.

The same two steps run on Celery (`central365.worker`) and on the embedded pool below (inside
`central365 serve` when no broker is configured):

1. `expand_target` reads the target's mailboxes (its list, or its Entra group's users) and
   queues one row per mailbox in the target run; a group that cannot be read fails the run.
2. `run_mailbox_job` runs one mailbox (`engine.targets.run_mailbox`: under the folder's lease,
   recorded in History, journalled as it writes).  An outcome that may pass later (the lease is
   busy: never two writers; Graph throttled or unreachable; the run stopped early) raises
   `RetryLater` while attempts remain, and the runner tries again after `backoff`.  Otherwise
   the mailbox's end is recorded; the job that ends the target run's last mailbox calls the
   `OnTargetFinished` hook (the admins' e-mail), exactly once per target run.

A retry plans again from what Office 365 holds now: the journal and the anchors central365
writes on every contact make a re-plan adopt what a killed attempt created, so a retry never
writes a duplicate.

Must not: import Celery, a front end or the composition root (they hand in the openers).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from central365.appdb import MailboxJobStatus, ScheduleRepository, TargetRunRecord
from central365.core.errors import Central365Error
from central365.core.targets import SyncTarget
from central365.engine.targets import (
    HoldRun,
    MailboxOutcome,
    MailboxRun,
    OpenService,
    TargetOutcome,
    run_mailbox,
)

log = logging.getLogger(__name__)

#: Tries of one mailbox before its last error is its outcome.
MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 15.0
BACKOFF_CAP_S = 600.0
#: A mailbox that had not run when the process running its target's jobs stopped.
ABANDONED_TARGET_RUN = (
    "central365 stopped before this mailbox was synchronised; run the target again (Run now)."
)


class OnTargetFinished(Protocol):
    """Told once when a target run has ended (every mailbox done, or it could not start)."""

    def __call__(self, target_name: str, outcome: TargetOutcome, target_run_id: int) -> None: ...


def log_target_finished(target_name: str, outcome: TargetOutcome, target_run_id: int) -> None:
    """The default hook: one log line (the wiring may send an e-mail instead)."""
    bad = sum(1 for m in outcome.mailboxes if not m.ok)
    log.info(
        "Target %s run %d ended: %d of %d mailboxes did not finish%s",
        target_name,
        target_run_id,
        bad,
        len(outcome.mailboxes),
        f" ({outcome.error})" if outcome.error else "",
    )


class RetryLater(Exception):
    """The mailbox's try failed in a way a later try may not: run it again after `delay`."""

    def __init__(self, outcome: MailboxOutcome, delay: float) -> None:
        super().__init__(outcome.error or "retry")
        self.outcome = outcome
        self.delay = delay


def backoff(attempt: int, *, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """Seconds before try `attempt + 1`: exponential from `base`, capped, with ±20 % jitter
    so mailboxes that failed together do not come back together."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return float(delay) * random.uniform(0.8, 1.2)


def outcome_of(run: TargetRunRecord) -> TargetOutcome:
    """A recorded target run as the engine's `TargetOutcome` (what the hook is told)."""
    return TargetOutcome(
        run.target,
        tuple(
            MailboxOutcome(
                m.mailbox,
                created=m.created,
                updated=m.updated,
                failed=m.failed,
                skipped=m.skipped,
                error=m.error,
                refused=m.refused,
            )
            for m in run.mailboxes
        ),
        error=run.error,
    )


#: Reads a target's mailboxes (a group's users over Graph, or its list).
ResolveMailboxes = Callable[[SyncTarget], Sequence[str]]


def expand_target(
    target: SyncTarget,
    target_run_id: int,
    resolve: ResolveMailboxes,
    repository: ScheduleRepository,
    on_finished: OnTargetFinished,
) -> list[str]:
    """Queue the target run's mailboxes; the list to run (empty when the run has ended)."""
    try:
        mailboxes = list(resolve(target))
        if not mailboxes:
            raise Central365Error(
                f"Target {target.name} has no mailboxes: add users to its group in Entra, or "
                "check the group id."
            )
    except Exception as exc:
        error = (
            exc.message
            if isinstance(exc, Central365Error)
            else f"The target's mailboxes could not be read ({type(exc).__name__})."
        )
        ended = repository.fail_target_run(target_run_id, error)
        if ended is not None:
            _tell(on_finished, ended)
        return []
    repository.add_mailboxes(target_run_id, mailboxes)
    found = repository.target_run(target_run_id)
    if found is None:
        return []
    return [m.mailbox for m in found.mailboxes if m.status is not MailboxJobStatus.DONE]


def run_mailbox_job(
    target: SyncTarget,
    target_run_id: int,
    mailbox: str,
    *,
    open_service: OpenService,
    hold_run: HoldRun,
    repository: ScheduleRepository,
    on_finished: OnTargetFinished,
    attempt: int = 1,
    max_attempts: int = MAX_ATTEMPTS,
) -> MailboxOutcome:
    """One try of one mailbox.  Raises `RetryLater` when the try may pass later and tries are
    left; else records the mailbox's end (and the target run's, when it was the last)."""

    @contextmanager
    def held(address: str) -> Iterator[MailboxRun | None]:
        with hold_run(address) as run:
            run_id = getattr(run, "id", None)
            repository.mailbox_started(
                target_run_id, mailbox, run_id if isinstance(run_id, int) else None
            )
            yield run

    outcome = run_mailbox(target, mailbox, open_service, held)
    if outcome.retryable and attempt < max_attempts:
        log.info("Mailbox job of target %s will be tried again (try %d)", target.name, attempt)
        raise RetryLater(outcome, backoff(attempt))
    ended = repository.mailbox_finished(
        target_run_id,
        mailbox,
        created=outcome.created,
        updated=outcome.updated,
        failed=outcome.failed,
        skipped=outcome.skipped,
        error=outcome.error,
        refused=outcome.refused,
    )
    if ended is not None:
        _tell(on_finished, ended)
    return outcome


def _tell(on_finished: OnTargetFinished, ended: TargetRunRecord) -> None:
    try:
        on_finished(ended.target, outcome_of(ended), ended.id)
    except Exception as exc:  # the run is recorded; a failing hook must not undo it
        log.error("The end-of-run hook failed for target run %d (%s)", ended.id, type(exc).__name__)


@dataclass(frozen=True)
class JobOpeners:
    """What the composition root hands the runners: per target (and target run), how to open
    a mailbox's service and hold its run, how to read the target's mailboxes, and the end-of-run hook."""

    #: Per target and target run (the run's mailboxes share one read of Central).
    open_service: Callable[[SyncTarget, int], OpenService]
    hold_run: Callable[[SyncTarget], HoldRun]
    resolve: ResolveMailboxes
    repository: ScheduleRepository
    on_finished: OnTargetFinished = log_target_finished


class EmbeddedJobs:
    """Target runs on a small thread pool in this process (`serve` without a broker).

    Many mailboxes run at once (the work waits on Graph, not the CPU); a retry waits on a
    timer, not on a pool thread.  `shutdown` stops taking jobs and waits for those running.
    """

    def __init__(
        self,
        openers: JobOpeners,
        *,
        threads: int = 4,
        max_attempts: int = MAX_ATTEMPTS,
        delay_of: Callable[[float], float] = lambda seconds: seconds,
    ) -> None:
        self._openers = openers
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="central365-job")
        self._max_attempts = max_attempts
        self._delay_of = delay_of
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._closed = False

    def start(self, target: SyncTarget, target_run_id: int) -> None:
        self._submit(self._expand, target, target_run_id)

    def _submit(self, fn: Callable[..., None], *args: object) -> None:
        with self._lock:
            if self._closed:
                return
            self._pool.submit(self._guarded, fn, *args)

    @staticmethod
    def _guarded(fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except Exception as exc:  # logged; the mailbox's row stays queued for a person to see
            log.error("A target job failed unexpectedly (%s)", type(exc).__name__)

    def _expand(self, target: SyncTarget, target_run_id: int) -> None:
        o = self._openers
        for mailbox in expand_target(target, target_run_id, o.resolve, o.repository, o.on_finished):
            self._submit(self._mailbox, target, target_run_id, mailbox, 1)

    def _mailbox(self, target: SyncTarget, target_run_id: int, mailbox: str, attempt: int) -> None:
        o = self._openers
        try:
            run_mailbox_job(
                target,
                target_run_id,
                mailbox,
                open_service=o.open_service(target, target_run_id),
                hold_run=o.hold_run(target),
                repository=o.repository,
                on_finished=o.on_finished,
                attempt=attempt,
                max_attempts=self._max_attempts,
            )
        except RetryLater as retry:
            self._later(retry.delay, target, target_run_id, mailbox, attempt + 1)

    def _later(self, delay: float, *args: object) -> None:
        timer = threading.Timer(self._delay_of(delay), self._fire, args=(args,))
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()

    def _fire(self, args: tuple[object, ...]) -> None:
        with self._lock:
            self._timers = {
                t for t in self._timers if t.is_alive() and t is not threading.current_thread()
            }
        self._submit(self._mailbox, *args)

    def shutdown(self, wait: bool = True) -> None:
        """Take no more jobs (pending retries are dropped: their rows stay queued)."""
        with self._lock:
            self._closed = True
            timers = list(self._timers)
        for timer in timers:
            timer.cancel()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
