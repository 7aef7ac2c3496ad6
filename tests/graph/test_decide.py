"""The write path's decision table, row by row (`graph.decide`)."""

from __future__ import annotations

from typing import Any

import pytest

from central365.core.errors import AuthFailed, GraphError, OutcomeUnknown, Throttled
from central365.core.model import ALREADY_GONE
from central365.graph.decide import (
    Action,
    Decision,
    Member,
    Timing,
    decide,
    decide_batch,
    decide_look_up,
    longest_wait,
    wait_reason,
)
from central365.graph.errors import Answer, Verdict, classify, classify_failure
from central365.graph.throttle import RetryPolicy
from tests.graph.fakegraph import odata_error

TIMING = Timing(RetryPolicy(max_attempts=4), now=1_800_000_000.0, jitter=0.5)


def answer(status: int, code: str | None = None, retry_after: str | None = None) -> Answer:
    headers = {"Retry-After": retry_after} if retry_after else {}
    body: Any = {"id": "C1"} if status < 300 else odata_error(code or "X", "msg")
    return classify(status, body, headers)


NO_ANSWER = classify_failure(OutcomeUnknown("lost"))
UNREACHABLE = classify_failure(GraphError("could not be reached"))
CREATE = Member(create=True)
UPDATE = Member(create=False)
CHAINED = Member(create=True, dependant=True)
DELETE = Member(create=False, delete=True)


@pytest.mark.parametrize(
    ("given", "member", "action", "delay", "counted"),
    [
        (answer(201), CREATE, Action.DONE, 0.0, False),
        (answer(200), UPDATE, Action.DONE, 0.0, False),
        (answer(424, "FailedDependency"), CHAINED, Action.RESEND, 0.0, False),
        (answer(424, "FailedDependency"), CREATE, Action.WAIT, 0.75, True),
        (answer(429, "TooManyRequests", "7"), CREATE, Action.WAIT, 7.0, True),
        (answer(429, "TooManyRequests", "7"), UPDATE, Action.WAIT, 7.0, True),
        (answer(500, "ErrorTooManyObjectsOpened"), CREATE, Action.WAIT, 0.75, True),
        (answer(503, "serviceNotAvailable", "3"), CREATE, Action.LOOK_UP, 3.0, True),
        (answer(503, "serviceNotAvailable", "3"), UPDATE, Action.WAIT, 3.0, True),
        (answer(504, "GatewayTimeout"), CREATE, Action.LOOK_UP, 0.75, True),
        (NO_ANSWER, CREATE, Action.LOOK_UP, 0.75, True),
        (NO_ANSWER, UPDATE, Action.WAIT, 0.75, True),
        (UNREACHABLE, CREATE, Action.WAIT, 0.75, True),
        (answer(500, "generalException"), CREATE, Action.GIVE_UP, 0.0, False),
        (answer(400, "ErrorInvalidProperty"), UPDATE, Action.GIVE_UP, 0.0, False),
        (answer(404, "ErrorItemNotFound"), UPDATE, Action.GIVE_UP, 0.0, False),
        (answer(204), DELETE, Action.DONE, 0.0, False),
        (answer(404, "ErrorItemNotFound"), DELETE, Action.DONE, 0.0, False),
        (answer(503, "serviceNotAvailable", "3"), DELETE, Action.WAIT, 3.0, True),
        (NO_ANSWER, DELETE, Action.WAIT, 0.75, True),
        (answer(403, "ErrorAccessDenied"), DELETE, Action.GIVE_UP, 0.0, False),
        (answer(403, "ErrorAccessDenied"), CREATE, Action.GIVE_UP, 0.0, False),
        # the last allowed attempt: give up, counted, with the throttling reason
        (answer(429, "TooManyRequests", "7"), Member(True, 3), Action.GIVE_UP, 0.0, True),
        (NO_ANSWER, Member(True, 3), Action.GIVE_UP, 0.0, True),
    ],
)
def test_decide(given: Answer, member: Member, action: Action, delay: float, counted: bool) -> None:
    decision = decide(given, member, TIMING)
    assert (decision.action, decision.delay, decision.counted) == (action, delay, counted)


def test_a_delete_of_a_contact_already_gone_is_done_with_a_note() -> None:
    gone = decide(answer(404, "ErrorItemNotFound"), DELETE, TIMING)
    assert (gone.note, decide(answer(204), DELETE, TIMING).note) == (ALREADY_GONE, None)


def test_decide_carries_the_id_the_reason_and_graphs_own_retry_after() -> None:
    assert decide(answer(201), CREATE, TIMING).contact_id == "C1"
    refused = decide(answer(400, "ErrorInvalidProperty"), CREATE, TIMING)
    assert refused.reason == "Office 365 refused the request: msg (400 ErrorInvalidProperty)."
    asked = decide(answer(429, "TooManyRequests", "100000"), CREATE, TIMING)
    assert asked.delay == 600.0 and asked.asked == 100000.0  # capped wait, Graph's ask kept
    assert asked.reason == "throttled (429 TooManyRequests)"
    last = decide(answer(429, "TooManyRequests"), Member(True, 3), TIMING)
    assert "gave up after 4 attempts" in last.reason and "429 TooManyRequests" in last.reason


@pytest.mark.parametrize(
    ("given", "member", "action"),
    [
        (answer(429, "TooManyRequests", "4"), CREATE, Action.WAIT),
        (UNREACHABLE, CREATE, Action.WAIT),
        (answer(503, "serviceNotAvailable"), CREATE, Action.LOOK_UP),
        (answer(502), CREATE, Action.LOOK_UP),
        (NO_ANSWER, CREATE, Action.LOOK_UP),
        (answer(503, "serviceNotAvailable"), UPDATE, Action.WAIT),
        (NO_ANSWER, UPDATE, Action.WAIT),
        (answer(401, "InvalidAuthenticationToken"), CREATE, Action.STOP),
        (classify_failure(AuthFailed("no token")), UPDATE, Action.STOP),
        (answer(400, "BadRequest"), CREATE, Action.GIVE_UP),
    ],
)
def test_decide_batch_counts_no_attempt(given: Answer, member: Member, action: Action) -> None:
    decision = decide_batch(given, Member(member.create, attempts=3), TIMING, round_try=2)
    assert decision.action is action
    assert not decision.counted  # members of a failed call are never charged for it


def test_decide_batch_waits_by_the_round_or_graphs_retry_after() -> None:
    assert decide_batch(answer(429, "X", "4"), CREATE, TIMING, round_try=3).delay == 4.0
    assert decide_batch(NO_ANSWER, CREATE, TIMING, round_try=3).delay == 3.0  # 4 s step, jitter .5


def lookup(values: list[dict[str, str]] | None, status: int = 200) -> Answer:
    return classify(status, {"value": values} if values is not None else {"x": 1}, {})


@pytest.mark.parametrize(
    ("given", "attempts", "action", "contact_id"),
    [
        (lookup([{"id": "C9"}]), 0, Action.DONE, "C9"),
        (lookup([]), 0, Action.RESEND, None),
        (lookup(None), 0, Action.LOOK_UP, None),  # a 200 without a list proves nothing
        (answer(429, "TooManyRequests", "2"), 0, Action.LOOK_UP, None),
        (answer(503, "serviceNotAvailable"), 0, Action.LOOK_UP, None),
        (answer(500, "generalException"), 0, Action.LOOK_UP, None),
        (NO_ANSWER, 0, Action.LOOK_UP, None),
        (NO_ANSWER, 3, Action.GIVE_UP, None),
        (answer(401, "InvalidAuthenticationToken"), 0, Action.STOP, None),
        (answer(400, "ErrorInvalidUrlQueryFilter"), 0, Action.GIVE_UP, None),
    ],
)
def test_decide_look_up(
    given: Answer, attempts: int, action: Action, contact_id: str | None
) -> None:
    decision = decide_look_up(given, Member(True, attempts), TIMING)
    assert (decision.action, decision.contact_id) == (action, contact_id)


def test_a_look_up_given_up_says_to_check_the_folder() -> None:
    decision = decide_look_up(answer(503, "serviceNotAvailable"), Member(True, 3), TIMING)
    assert decision.action is Action.GIVE_UP
    assert "look for the contact in the folder" in decision.reason
    refused = decide_look_up(answer(400, "ErrorInvalidUrlQueryFilter"), CREATE, TIMING)
    assert "check the folder before running the sync again" in refused.reason


def test_longest_wait_picks_the_longest_pause_of_those_that_wait() -> None:
    short = Decision(Action.WAIT, "a", 2.0)
    long = Decision(Action.LOOK_UP, "b", 9.0)
    asked = Decision(Action.WAIT, "c", 9.0, asked=50.0)
    done = Decision(Action.DONE, delay=99.0)
    assert longest_wait([short, long, done]) is long
    assert longest_wait([short, long, asked]) is asked
    assert longest_wait([done, Decision(Action.RESEND)]) is None


@pytest.mark.parametrize(
    ("given", "text"),
    [
        (answer(429, "TooManyRequests"), "throttled (429 TooManyRequests)"),
        (answer(503, "serviceNotAvailable"), "Office 365 unavailable (503 serviceNotAvailable)"),
        (NO_ANSWER, "no answer came back"),
        (UNREACHABLE, "Office 365 could not be reached"),
    ],
)
def test_wait_reason(given: Answer, text: str) -> None:
    assert wait_reason(given) == text


@pytest.mark.parametrize(
    ("status", "body", "headers", "verdict", "kind"),
    [
        (201, b'{"id": "C1"}', {}, Verdict.SUCCESS, None),
        (429, b"", {"Retry-After": "3"}, Verdict.THROTTLED, Throttled),
        (503, b"<html>busy</html>", {"Content-Type": "text/html"}, Verdict.UNAVAILABLE, Throttled),
        (401, odata_error("InvalidAuthenticationToken", "x"), {}, Verdict.AUTH, AuthFailed),
        (400, odata_error("BadRequest", "x"), {}, Verdict.REFUSED, GraphError),
    ],
)
def test_classify_reads_an_answer_once(
    status: int, body: Any, headers: dict[str, str], verdict: Verdict, kind: type | None
) -> None:
    got = classify(status, body, headers)
    assert got.verdict is verdict
    assert (got.error is None) if kind is None else isinstance(got.error, kind)
    if status == 201:
        assert got.body == {"id": "C1"}
    if status == 429:
        assert got.retry_after == "3"


def test_classify_failure() -> None:
    assert classify_failure(OutcomeUnknown("x")).verdict is Verdict.NO_ANSWER
    assert classify_failure(AuthFailed("x")).verdict is Verdict.AUTH
    assert classify_failure(GraphError("x")).verdict is Verdict.UNREACHABLE
