"""Running a target: the same sync into each of its mailboxes, one mailbox's fate its own.

`run_target` is handed the mailboxes (already resolved: a group's members are read before) and
two openers — the `SyncService` of a mailbox, and its run (the folder's lease, and the record
of the run in History with the journal its writes go into) — so that the command line, a
thread pool or a task queue can call it (or `run_mailbox`, one mailbox) with their own.

Per mailbox: take the folder's lease, plan (the `source_shrunk` guard compares with the
journal's last run of that folder), refuse a plan that trips a guard against mass changes
(nothing is written to that mailbox; it is reported), else write the target's states, each
write journalled as it is answered.
Whatever one mailbox meets — a busy lease, a refused token, a guard, an unexpected error — is
that mailbox's `error`, and the next mailbox runs.

Must not: import a front end, print, or decide exit codes (the front end reads `TargetOutcome`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from central365.appdb.run_repository import RunInProgress
from central365.core.errors import (
    Central365Error,
    GraphError,
    MassChangeRefused,
    OutcomeUnknown,
    Throttled,
)
from central365.core.execute import Selection
from central365.core.model import Outcome
from central365.core.targets import SyncTarget
from central365.engine.journaling import JournalRun
from central365.engine.service import SyncOutcome, SyncService


class MailboxRun(Protocol):
    """A front end's record of one mailbox's run: the journal its writes go into, its end."""

    @property
    def journal(self) -> JournalRun | None: ...

    def finish(self, outcome: SyncOutcome) -> None:
        """Store the outcomes and end the run (it is ended as failed if this is never called)."""


#: Opens the `SyncService` of one mailbox (by the address Graph takes) for the target's folder.
OpenService = Callable[[str], AbstractContextManager[SyncService]]
#: Holds one mailbox's folder (its lease) while it is written, raising when another run holds
#: it; gives the run's record, or None where runs are not recorded (tests, a bare worker).
HoldRun = Callable[[str], AbstractContextManager[MailboxRun | None]]


@dataclass(frozen=True, slots=True)
class MailboxOutcome:
    """What a target's run did in one mailbox.

    `error` is None when the mailbox was reached and the run finished; `refused` says the error
    is a guard against mass changes (nothing was written there); `retryable` that it may pass
    on a later try (another run held the folder, Graph throttled or could not be reached, the
    run stopped before its end), which a queued job retries with backoff.
    """

    mailbox: str
    created: int = 0
    updated: int = 0
    failed: int = 0
    skipped: int = 0
    error: str | None = None
    refused: bool = False
    retryable: bool = False

    @property
    def ok(self) -> bool:
        """Every selected record written, nothing refused or stopped."""
        return self.error is None and self.failed == 0

    def to_json(self) -> dict[str, object]:
        return {
            "mailbox": self.mailbox,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
            "skipped": self.skipped,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    """A target's run: one outcome per mailbox, in the order the mailboxes were given.

    `error` says why no mailbox could be run at all (the group could not be read).
    """

    target: str
    mailboxes: tuple[MailboxOutcome, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(m.ok for m in self.mailboxes)

    def to_json(self) -> dict[str, object]:
        return {"target": self.target, "mailboxes": [m.to_json() for m in self.mailboxes]}


def run_target(
    target: SyncTarget,
    mailboxes: Iterable[str],
    open_service: OpenService,
    hold_run: HoldRun,
    *,
    allow_mass_change: bool = False,
    on_mailbox: Callable[[MailboxOutcome], None] | None = None,
) -> TargetOutcome:
    """Run `target` into each mailbox in turn; `on_mailbox` is told each outcome as it ends."""
    outcomes: list[MailboxOutcome] = []
    for mailbox in mailboxes:
        outcome = run_mailbox(
            target, mailbox, open_service, hold_run, allow_mass_change=allow_mass_change
        )
        outcomes.append(outcome)
        if on_mailbox is not None:
            on_mailbox(outcome)
    return TargetOutcome(target.name, tuple(outcomes))


def run_mailbox(
    target: SyncTarget,
    mailbox: str,
    open_service: OpenService,
    hold_run: HoldRun,
    *,
    allow_mass_change: bool = False,
) -> MailboxOutcome:
    """One mailbox of a target.  Whatever the mailbox meets is its outcome's `error`; only a
    `BaseException` (Ctrl-C) goes through, stopping the whole run."""
    selection = Selection(states=target.states)
    try:
        with hold_run(mailbox) as run, open_service(mailbox) as service:
            journal = run.journal if run is not None else None
            done = service.sync(selection, allow_mass_change=allow_mass_change, journal=journal)
            if run is not None:
                run.finish(done)
    except MassChangeRefused as exc:
        return MailboxOutcome(
            mailbox, error=f"{exc.message} Nothing was written to this mailbox.", refused=True
        )
    except Central365Error as exc:
        return MailboxOutcome(mailbox, error=exc.message, retryable=_transient(exc))
    except Exception as exc:  # one mailbox's surprise must not stop the others
        return MailboxOutcome(mailbox, error=f"Unexpected error ({type(exc).__name__}).")
    return _counted(mailbox, done)


def _counted(mailbox: str, done: SyncOutcome) -> MailboxOutcome:
    report = done.report
    stopped = (
        f"The run stopped before {done.unwritten} records were written: "
        f"{done.stop_reason or 'run the target again to finish it'}"
        if done.unwritten
        else None
    )
    return MailboxOutcome(
        mailbox,
        created=report.count(Outcome.CREATED),
        updated=report.count(Outcome.UPDATED),
        failed=report.failed,
        skipped=report.count(Outcome.SKIPPED),
        error=stopped,
        retryable=stopped is not None,
    )


def _transient(exc: Central365Error) -> bool:
    """An error a later try may not meet: a busy folder, throttling, an unreachable Graph."""
    if isinstance(exc, RunInProgress | Throttled | OutcomeUnknown):
        return True
    return type(exc) is GraphError and (exc.status is None or exc.status >= 500)
