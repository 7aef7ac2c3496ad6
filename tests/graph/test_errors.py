from __future__ import annotations

import httpx
import pytest

from central365.core.errors import (
    AuthFailed,
    Conflict,
    GraphError,
    NotFound,
    OutcomeUnknown,
    Throttled,
)
from central365.graph.errors import (
    Verdict,
    error_from_response,
    error_from_transport,
    gave_up,
    is_retryable,
    read_error,
    token_error,
    verdict,
)
from tests.graph.fakegraph import odata_error


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (200, None, Verdict.SUCCESS),
        (201, None, Verdict.SUCCESS),
        (429, "TooManyRequests", Verdict.THROTTLED),
        (503, None, Verdict.UNAVAILABLE),
        (504, None, Verdict.UNAVAILABLE),
        (500, "ErrorTooManyObjectsOpened", Verdict.THROTTLED),
        (429, "ApplicationThrottled", Verdict.THROTTLED),
        (500, "generalException", Verdict.SERVER_ERROR),
        (424, None, Verdict.FAILED_DEPENDENCY),
        (401, "InvalidAuthenticationToken", Verdict.AUTH),
        (400, "ErrorInvalidProperty", Verdict.REFUSED),
    ],
)
def test_verdict(status: int, code: str | None, expected: Verdict) -> None:
    assert verdict(status, code) is expected


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (429, None, True),
        (503, None, True),
        (504, None, True),
        (500, "ErrorTooManyObjectsOpened", True),
        (200, "errortoomanyobjectsopened", True),
        (500, None, False),
        (400, "ErrorInvalidProperty", False),
        (404, "ErrorItemNotFound", False),
    ],
)
def test_is_retryable(status: int, code: str | None, retryable: bool) -> None:
    assert is_retryable(status, code) is retryable


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "TooManyRequests", Throttled),
        (503, "serviceNotAvailable", Throttled),
        (504, "UnknownError", Throttled),
        (500, "ErrorTooManyObjectsOpened", Throttled),
        (401, "InvalidAuthenticationToken", AuthFailed),
        (403, "ErrorAccessDenied", AuthFailed),
        (404, "ErrorItemNotFound", NotFound),
        (400, "ErrorItemNotFound", NotFound),
        (409, "ErrorFolderExists", Conflict),
        (412, "ErrorIrresolvableConflict", Conflict),
        (400, "ErrorInvalidProperty", GraphError),
    ],
)
def test_error_from_response_picks_the_type(status: int, code: str, kind: type) -> None:
    err = error_from_response(status, odata_error(code, "Something happened."), {})
    assert type(err) is kind
    assert err.status == status
    assert err.code == code
    assert err.request_id == "r-1"
    assert err.message.endswith(".")
    assert "\n" not in err.message


def test_refusal_message_names_graph_message_status_and_code() -> None:
    body = odata_error(
        "ErrorInvalidProperty", "The multi value property EmailAddresses has 4 entries."
    )
    err = error_from_response(400, body, {}, what="the contact")
    assert err.message == (
        "Office 365 refused the contact: The multi value property EmailAddresses has 4 entries. "
        "(400 ErrorInvalidProperty)."
    )


def test_body_as_bytes_and_lowercase_innererror() -> None:
    body = b'{"error": {"code": "ErrorItemNotFound", "message": "Gone.", "innererror": {"request-id": "abc"}}}'
    err = error_from_response(404, body, httpx.Headers({"Content-Type": "application/json"}))
    assert isinstance(err, NotFound)
    assert err.request_id == "abc"


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html", "HTML page"),
        (b"<!DOCTYPE html><p>oops", "", "HTML page"),
        (b"", "", "no body"),
        (b'{"error": ', "application/json", "not Graph JSON"),
        (b'["not", "an", "error"]', "application/json", "not Graph JSON"),
        (b"\xff\xfe garbage", "application/octet-stream", "not Graph JSON"),
    ],
)
def test_unreadable_bodies_never_crash(body: bytes, content_type: str, words: str) -> None:
    headers = {"Content-Type": content_type, "request-id": "hdr-id"} if content_type else {}
    err = error_from_response(502, body, headers)
    assert type(err) is GraphError
    assert words in err.message
    assert err.code is None
    assert read_error(502, body, headers).message in err.message


def test_long_graph_messages_are_cut() -> None:
    err = error_from_response(400, odata_error("X", "word " * 500), {})
    assert len(err.message) < 450
    assert "…" in err.message


def test_transport_errors_before_and_after_sending() -> None:
    request = httpx.Request("POST", "https://graph.test/v1.0/$batch")
    before = error_from_transport(httpx.ConnectError("refused", request=request))
    after = error_from_transport(httpx.ReadTimeout("slow", request=request), what="the contact")
    assert type(before) is GraphError and "could not be reached" in before.message
    assert isinstance(after, OutcomeUnknown)
    assert after.message.startswith("The contact was sent")


def test_gave_up_sentences() -> None:
    throttled = Throttled("busy", status=429, code="TooManyRequests")
    assert "gave up after 8 attempts" in gave_up(throttled, 8)
    assert "429 TooManyRequests" in gave_up(throttled, 8)
    assert "look for the contact" in gave_up(OutcomeUnknown("lost"), 3)


def test_token_error_uses_code_and_first_line_only() -> None:
    err = token_error(
        {
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid secret.\nTrace ID: x",
        },
        action="client credentials",
    )
    assert isinstance(err, AuthFailed)
    assert err.code == "invalid_client"
    assert "AADSTS7000215: Invalid secret." in err.message
    assert "Trace ID" not in err.message
