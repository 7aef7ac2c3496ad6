"""The bookkeeping of one `GraphFolder.write()`: its tasks, rounds and the round-level rules.

Owns: a task per write (attempts, "its create's answer was lost"), what one call brought back
(`Heard`: a `graph.decide` decision per write and every answer heard), one round's tally
(`Round`), applying decisions to results exactly once (`Run`), and the rules between rounds
(`Guard`: deadline, refused token, breaker, stalled rounds, batch shape).

Must not: send anything or sleep (`graph.folder` and the client do), read statuses (it reads
`Verdict`s and `Decision`s only), or log contact bodies or emails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from central365.core.errors import GraphError, OutcomeUnknown
from central365.core.model import ContactWrite, Outcome, WriteKind, WriteResult
from central365.core.ports import BatchedResults, ResultCallback
from central365.graph.batch import BatchStrategy
from central365.graph.breaker import (
    MAYBE_CREATED,
    Breaker,
    BreakerPolicy,
    breaker_reason,
    is_dark,
    next_shape,
)
from central365.graph.client import GraphClient
from central365.graph.decide import Action, Decision, Member, wait_reason
from central365.graph.errors import DARK_VERDICTS, Answer, Verdict, deadline_reason, gave_up

#: A member missing from a batch answer: it may or may not have run.
LOST = Answer(
    Verdict.NO_ANSWER,
    OutcomeUnknown(
        "The batch answer did not include this contact's write; "
        "it may or may not have been applied."
    ),
)


@dataclass(slots=True)
class Task:
    """One write on its way: how often it was tried, and whether a create's answer was lost.

    Look-ups count apart from writes, and only in a row (a look-up that proves the create
    absent starts the count again): a look-up refused for now says nothing about the write and
    must not use up the attempts the write itself may still need.
    """

    index: int
    write: ContactWrite
    attempts: int = 0
    look_ups: int = 0
    unknown: bool = False

    @property
    def request_id(self) -> str:
        return str(self.index)

    def member(self, dependant: bool = False, look_up: bool = False) -> Member:
        create = self.write.kind is WriteKind.CREATE
        delete = self.write.kind is WriteKind.DELETE
        attempts = self.look_ups if look_up else self.attempts
        return Member(create=create, attempts=attempts, dependant=dependant, delete=delete)


@dataclass(slots=True)
class Heard:
    """What one call brought back: a decision per write, and every answer heard."""

    decisions: list[tuple[Task, Decision]] = field(default_factory=list)
    #: The failed call's answer, or each member's (the breaker's input).
    answers: list[Answer] = field(default_factory=list)
    #: Each member's verdict in a write batch that answered (the shape's input).
    inner: list[Verdict] = field(default_factory=list)
    #: Look-ups that proved their create absent: send it now.
    absent: list[Task] = field(default_factory=list)
    #: The whole call failed (its members were not judged one by one).
    call_failed: GraphError | None = None
    #: The run's deadline stopped this call: why.
    stop: str | None = None
    #: These were look-ups: what they count goes to `Task.look_ups`.
    look_ups: bool = False

    def stopped(self) -> bool:
        """True when the run must send nothing more (deadline, or a refused token)."""
        return self.stop is not None or any(d.action is Action.STOP for _, d in self.decisions)

    def merge(self, other: Heard) -> None:
        """Add a later call's findings (look-ups go in several calls)."""
        self.decisions.extend(other.decisions)
        self.answers.extend(other.answers)
        self.inner.extend(other.inner)
        self.absent.extend(other.absent)
        self.call_failed = other.call_failed or self.call_failed
        self.stop = self.stop or other.stop

    @classmethod
    def untried(cls, tasks: Sequence[Task], stop: str | None = None) -> Heard:
        return cls([(t, Decision(Action.RESEND, "not sent")) for t in tasks], stop=stop)


@dataclass(slots=True)
class Round:
    """What one round settled or sends again, and what the round-level rules need."""

    resend: list[Task] = field(default_factory=list)
    again: list[Task] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    failed_dependency: int = 0
    answered: int = 0
    batch_error: GraphError | None = None
    stop: str | None = None
    progressed: bool = False

    def pending(self) -> list[Task]:
        """Untried writes lead the next round and refused ones trail, so that in a dependsOn
        chain a throttled write does not hold back (424) all the others."""
        return sorted(self.resend, key=_by_index) + sorted(self.again, key=_by_index)

    def last_dark(self) -> str:
        dark = [a for a in self.answers if a.verdict in DARK_VERDICTS]
        return wait_reason(dark[-1]) if dark else "no answer"


def _by_index(task: Task) -> int:
    return task.index


def _failed(task: Task, reason: str) -> WriteResult:
    return WriteResult(task.write.key, Outcome.FAILED, task.write.contact_id, reason)


_SUCCEEDED = {
    WriteKind.CREATE: Outcome.CREATED,
    WriteKind.UPDATE: Outcome.UPDATED,
    WriteKind.DELETE: Outcome.DELETED,
}


def _succeeded(task: Task, decision: Decision) -> WriteResult:
    return WriteResult(
        key=task.write.key,
        outcome=_SUCCEEDED[task.write.kind],
        office365_id=decision.contact_id or task.write.contact_id,
        contact=decision.contact,
        note=decision.note,
    )


class Run:
    """The results of one `write()` call, applied on the calling thread as decisions arrive."""

    def __init__(self, size: int, on_result: ResultCallback | None) -> None:
        self._results: list[WriteResult | None] = [None] * size
        self._on_result = on_result
        #: One call's results go to the callback together (`ports.BatchedResults`).
        self._together: Callable[[], AbstractContextManager[None]] = (
            on_result.batch if isinstance(on_result, BatchedResults) else nullcontext
        )
        #: The token was refused: why (the rest fail with it).
        self.fatal: str | None = None

    def start(self, writes: Sequence[ContactWrite]) -> list[Task]:
        """The writes to send; an update or delete without a contact id fails at once."""
        pending: list[Task] = []
        for index, write in enumerate(writes):
            task = Task(index, write)
            if write.kind is not WriteKind.CREATE and not write.contact_id:
                self.finish(
                    task, _failed(task, f"The {write.kind} has no Office 365 contact id to change.")
                )
            else:
                pending.append(task)
        return pending

    def finish(self, task: Task, result: WriteResult) -> None:
        self._results[task.index] = result
        if self._on_result is not None:
            self._on_result(result)

    def end(self, tasks: Sequence[Task], outcome: Outcome, reason: str) -> None:
        """The run stopped: every write left ends with `outcome` and the reason."""
        with self._together():
            for task in sorted(tasks, key=_by_index):
                unknown = task.unknown and outcome is Outcome.SKIPPED
                why = reason + (MAYBE_CREATED if unknown else "")
                self.finish(task, WriteResult(task.write.key, outcome, task.write.contact_id, why))

    def apply(self, heard: Heard, into: Round) -> None:
        """Apply one call's decisions (their results handed on together); note what the
        round-level rules need."""
        with self._together():
            for task, decision in heard.decisions:
                if decision.counted and heard.look_ups:
                    task.look_ups += 1
                elif decision.counted:
                    task.attempts += 1
                self._apply(task, decision, into)
        into.answers.extend(heard.answers)
        into.answered += len(heard.inner)
        into.failed_dependency += heard.inner.count(Verdict.FAILED_DEPENDENCY)
        into.batch_error = heard.call_failed or into.batch_error
        into.stop = into.stop or heard.stop

    def _apply(self, task: Task, decision: Decision, into: Round) -> None:
        action = decision.action
        if action is Action.DONE:
            self.finish(task, _succeeded(task, decision))
        elif action is Action.GIVE_UP:
            self.finish(task, _failed(task, decision.reason))
        elif action in (Action.RESEND, Action.STOP):
            self.fatal = self.fatal or (decision.reason if action is Action.STOP else None)
            into.resend.append(task)
            return
        else:
            task.unknown = task.unknown or action is Action.LOOK_UP
            into.again.append(task)
            return
        into.progressed = True

    def results(self) -> list[WriteResult]:
        return [r for r in self._results if r is not None]


class Guard:
    """The round-level rules of one `write()`: deadline, token, breaker, stalls, batch shape."""

    def __init__(self, client: GraphClient, breaker: BreakerPolicy, shape: BatchStrategy) -> None:
        self._client = client
        self._breaker = Breaker(breaker)
        self.shape = shape
        #: Rounds in a row whose batch calls failed as a whole and settled nothing.
        self.stalled = 0
        self._failed_dependency = 0
        self._answered = 0

    def before(self) -> tuple[Outcome, str] | None:
        deadline = self._client.deadline
        return (Outcome.SKIPPED, deadline_reason(deadline.seconds)) if deadline.passed else None

    def after(self, done: Round, started: float, run: Run) -> tuple[Outcome, str] | None:
        """Why the run stops after this round (the outcome for what is left), or None."""
        self._failed_dependency += done.failed_dependency
        self._answered += done.answered
        self.shape = next_shape(self.shape, self._failed_dependency, self._answered)
        if run.fatal is not None:
            return Outcome.FAILED, run.fatal
        if done.stop is not None:
            return Outcome.SKIPPED, done.stop
        now = self._client.clock.monotonic()
        if self._breaker.record(started, now, is_dark(a.verdict for a in done.answers)):
            return Outcome.SKIPPED, breaker_reason(self._breaker.dark_for(now), done.last_dark())
        self.stalled = 0 if done.progressed or done.batch_error is None else self.stalled + 1
        if done.batch_error is not None and not self._client.policy.can_retry(self.stalled):
            # Whole batch calls kept failing: give up on what is left, with the reason.
            return Outcome.FAILED, gave_up(done.batch_error, self.stalled)
        return None
