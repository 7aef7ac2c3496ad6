"""Pure decisions for the Graph write path: after an answer, what happens to each write.

After every `$batch` (or single request) answer, one of these functions says for each member:
done, resend (not tried), wait (how long, why), look up (a create whose answer was lost), give
up (why) or stop (the token was refused).  `GraphFolder` and `GraphClient` send and apply; they
never read a status themselves (`graph.errors.classify` reads it once).

The table (`tests/graph/test_decide.py` holds it row by row):

| answer                         | update              | create                    |
|--------------------------------|---------------------|---------------------------|
| 2xx                            | done                | done (Graph's id)         |
| 424, it depended on another    | resend, no attempt  | resend, no attempt        |
| 429 / throttle code / other 424| wait                | wait                      |
| 503 / 504 / no answer          | wait                | look up first             |
| connection never opened        | wait                | wait                      |
| other 5xx / 4xx / 401 / 403    | give up             | give up                   |

A delete is an update in this table, except that its 404 is done ("already gone", with a note):
deleting is idempotent, so a delete that may have happened is simply sent again.

"wait" and "look up" count one attempt and turn into "give up" once the policy's attempts are
used.  When the whole batch call failed (`decide_batch`), no attempt is counted against its
members: the round counts instead (`graph.breaker`); a 401/403 on the call itself stops the
run.  A lost create's look-up (`decide_look_up`): found → done, none → resend, no proof → look
up again later.

Must not: do I/O, sleep, read a clock (the caller passes `Timing`), or log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from central365.core.errors import GraphError, NotFound, OutcomeUnknown
from central365.core.mapping import folder_contact_from_graph
from central365.core.model import ALREADY_GONE, FolderContact
from central365.graph.errors import Answer, Verdict, gave_up
from central365.graph.throttle import RetryPolicy, parse_retry_after


class Action(Enum):
    """What happens next to one write."""

    #: It happened: created or updated (`Decision.contact_id`).
    DONE = "done"
    #: Not tried (a 424 dependant, a stopped batch) or proved absent: send again, no attempt.
    RESEND = "resend"
    #: Refused for now: send again after `Decision.delay`.
    WAIT = "wait"
    #: A create whose answer was lost: look it up after `Decision.delay`; send only if absent.
    LOOK_UP = "look_up"
    #: Failed for good: `Decision.reason` says why.
    GIVE_UP = "give_up"
    #: The token or its permissions were refused: stop sending; the rest fail with the reason.
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Member:
    """What a decision needs to know about one write."""

    create: bool
    #: Answers already counted against it.
    attempts: int = 0
    #: It depended on another member of its batch (a `dependsOn` chain).
    dependant: bool = False
    #: It deletes a contact (a 404 means the contact is already gone: done).
    delete: bool = False


@dataclass(frozen=True, slots=True)
class Timing:
    """What "how long" depends on: the retry knobs, the epoch time (HTTP-date Retry-After)
    and a random number in [0, 1) for backoff jitter."""

    policy: RetryPolicy
    now: float
    jitter: float

    def delay(self, attempt: int, retry_after: str | None) -> tuple[float, float | None]:
        """(seconds to wait, Graph's own Retry-After in seconds or None)."""
        asked = parse_retry_after(retry_after, self.now)
        return self.policy.delay(attempt, asked, self.jitter), asked


@dataclass(frozen=True, slots=True)
class Decision:
    """What one answer means for one write."""

    action: Action
    #: WAIT / LOOK_UP: a short label of why ("throttled (429 TooManyRequests)");
    #: GIVE_UP / STOP: the sentence a person is shown.
    reason: str = ""
    #: Seconds the mailbox should pause before the write goes again.
    delay: float = 0.0
    #: Graph's Retry-After in seconds, uncapped (a wait longer than the run has left ends it).
    asked: float | None = None
    #: DONE: the contact's id (None when Graph's answer carried none).
    contact_id: str | None = None
    #: DONE: the contact as Graph answered the write (for the journal's baseline and changeKey).
    contact: FolderContact | None = field(default=None, compare=False, repr=False)
    #: One more attempt is counted against the write.
    counted: bool = False
    #: DONE: a remark for a person (a delete whose contact was already gone).
    note: str | None = None


#: Answers after which a create may have happened although no success came back.
_MAYBE_APPLIED = frozenset({Verdict.UNAVAILABLE, Verdict.NO_ANSWER})
#: Answers after which the same request may simply go again later.
_TRANSIENT = frozenset(
    {Verdict.THROTTLED, Verdict.FAILED_DEPENDENCY, Verdict.UNREACHABLE} | _MAYBE_APPLIED
)


def wait_reason(answer: Answer) -> str:
    """A short label for why we wait, for logs and the front ends' "asked us to wait" line."""
    error = answer.error
    label = " ".join(str(p) for p in (error.status, error.code) if p) if error else ""
    words = {
        Verdict.THROTTLED: "throttled",
        Verdict.UNAVAILABLE: "Office 365 unavailable",
        Verdict.SERVER_ERROR: "Office 365 server error",
        Verdict.NO_ANSWER: "no answer came back",
        Verdict.UNREACHABLE: "Office 365 could not be reached",
        Verdict.FAILED_DEPENDENCY: "a request it depended on failed",
    }.get(answer.verdict, answer.verdict.value)
    return f"{words} ({label})" if label else words


def _error(answer: Answer) -> GraphError:
    return answer.error or GraphError("Office 365 gave an answer central365 cannot read.")


def _contact_id(body: object) -> str | None:
    value = body.get("id") if isinstance(body, Mapping) else None
    return value if isinstance(value, str) and value else None


def _written(body: object) -> FolderContact | None:
    """The contact a write's answer carried (201/200 hold the whole contact, §1.3, §1.4)."""
    if isinstance(body, Mapping) and _contact_id(body) is not None:
        return folder_contact_from_graph(body)
    return None


def _again(answer: Answer, member: Member, timing: Timing, maybe_applied: bool) -> Decision:
    """Count an attempt; wait (or look up a create that may exist), or give up when used up."""
    attempts = member.attempts + 1
    if not timing.policy.can_retry(attempts):
        return Decision(Action.GIVE_UP, gave_up(_error(answer), attempts), counted=True)
    delay, asked = timing.delay(attempts, answer.retry_after)
    action = Action.LOOK_UP if maybe_applied and member.create else Action.WAIT
    return Decision(action, wait_reason(answer), delay, asked, counted=True)


def decide(answer: Answer, member: Member, timing: Timing) -> Decision:
    """One member's answer (inner batch answer or single request) → its decision."""
    kind = answer.verdict
    if kind is Verdict.SUCCESS:
        body = answer.body
        return Decision(Action.DONE, contact_id=_contact_id(body), contact=_written(body))
    if member.delete and isinstance(answer.error, NotFound):
        return Decision(Action.DONE, note=ALREADY_GONE)
    if kind is Verdict.FAILED_DEPENDENCY and member.dependant:
        return Decision(Action.RESEND, wait_reason(answer))
    if kind in _TRANSIENT:
        return _again(answer, member, timing, maybe_applied=kind in _MAYBE_APPLIED)
    return Decision(Action.GIVE_UP, _error(answer).message)


def decide_batch(answer: Answer, member: Member, timing: Timing, round_try: int) -> Decision:
    """The whole batch call failed: the decision for each of its members, counting nothing.

    Its members were not judged one by one, so a chain's last write must not run out of
    attempts for faults of calls it never reached; `round_try` (failed rounds in a row) sets
    the backoff, and the round-level rules (`graph.breaker`) end a run that keeps failing.
    """
    kind = answer.verdict
    if kind is Verdict.AUTH:
        return Decision(Action.STOP, _error(answer).message)
    if kind in (Verdict.THROTTLED, Verdict.UNREACHABLE):
        delay, asked = timing.delay(round_try, answer.retry_after)
        return Decision(Action.WAIT, wait_reason(answer), delay, asked)
    if kind in (Verdict.UNAVAILABLE, Verdict.SERVER_ERROR, Verdict.NO_ANSWER):
        delay, asked = timing.delay(round_try, answer.retry_after)
        action = Action.LOOK_UP if member.create else Action.WAIT
        return Decision(action, wait_reason(answer), delay, asked)
    return Decision(Action.GIVE_UP, _error(answer).message)


def decide_look_up(answer: Answer, member: Member, timing: Timing) -> Decision:
    """The answer to the look-up of a create whose answer was lost → its decision.

    Found → done with that contact (never created twice).  Proved absent → resend.  No proof
    either way → look up again later (an attempt counted), or give up saying where to look.
    """
    kind = answer.verdict
    if kind is Verdict.SUCCESS:
        found = answer.body.get("value") if isinstance(answer.body, Mapping) else None
        if not isinstance(found, list):
            unreadable = GraphError("Office 365 answered the look-up with something unreadable.")
            return _look_again(Answer(Verdict.NO_ANSWER, unreadable), member, timing)
        if found:
            return Decision(Action.DONE, contact_id=_contact_id(found[0]))
        return Decision(Action.RESEND, "proved absent")
    if kind is Verdict.AUTH:
        return Decision(Action.STOP, _error(answer).message)
    if kind in _TRANSIENT or kind is Verdict.SERVER_ERROR:
        return _look_again(answer, member, timing)
    return Decision(
        Action.GIVE_UP,
        f"The contact was sent but no answer came back, and looking it up failed "
        f"({_error(answer).message}); check the folder before running the sync again.",
    )


def _look_again(answer: Answer, member: Member, timing: Timing) -> Decision:
    attempts = member.attempts + 1
    if not timing.policy.can_retry(attempts):
        lost = OutcomeUnknown(
            "No answer came back.", status=_error(answer).status, code=_error(answer).code
        )
        return Decision(Action.GIVE_UP, gave_up(lost, attempts), counted=True)
    delay, asked = timing.delay(attempts, answer.retry_after)
    return Decision(Action.LOOK_UP, wait_reason(answer), delay, asked, counted=True)


def longest_wait(decisions: list[Decision]) -> Decision | None:
    """The decision whose pause is longest among those that wait (None when none waits)."""
    waiting = [d for d in decisions if d.action in (Action.WAIT, Action.LOOK_UP) and d.delay > 0]
    return max(waiting, key=lambda d: (d.delay, d.asked or 0.0), default=None)
