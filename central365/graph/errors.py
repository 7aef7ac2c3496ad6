"""Microsoft Graph answers → the `central365.core.errors` tree: the only module that knows statuses.

This module owns every HTTP status number and OData error code central365 cares about, and turns
them into `GraphError` subclasses whose message is one sentence a person can act on.  Callers
above it test identity (`except NotFound`) or ask `verdict()`; they never compare numbers.

It must not do I/O, retry, sleep or log.  It must never put a token, a secret or a contact body
into a message: only Graph's own `error.message`, its `code` and the status.

Error body shape (reference §6.3, `mgdc: concepts/errors.md`)::

    {"error": {"code": "ErrorItemNotFound", "message": "...", "innerError": {"request-id": ...}}}

Anything else (an HTML page from a proxy, an empty body, truncated JSON) is read as "no code" and
described as such; parsing never raises (a peer tool died on "Expected literal ... was '<'").
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx

from central365.core.errors import (
    AuthFailed,
    Conflict,
    GraphError,
    NotFound,
    OutcomeUnknown,
    Throttled,
)

#: Codes that mean "too busy, nothing was done, try later", whatever the status (reference §4.3):
#: `ErrorTooManyObjectsOpened` comes as a 500/503 or as an inner batch result without Retry-After,
#: `ApplicationThrottled` with 429 ("over its MailboxConcurrency limit"), the other two are the
#: generic documented throttle codes (`concepts/errors.md`).
THROTTLE_CODES: frozenset[str] = frozenset(
    {
        "errortoomanyobjectsopened",
        "applicationthrottled",
        "activitylimitreached",
        "throttledrequest",
        "toomanyrequests",
    }
)

#: Longest Graph message we quote in a sentence; longer ones are cut with an ellipsis.
MAX_QUOTED_MESSAGE = 300


class Verdict(Enum):
    """What an answer means for the request that got it."""

    SUCCESS = "success"
    #: 429 or a throttle code: refused before any work was done; safe to resend after a pause.
    THROTTLED = "throttled"
    #: 503 / 504: the service was unavailable or timed out; a write MAY have happened.
    UNAVAILABLE = "unavailable"
    #: Another 5xx: a server fault; a write may have happened, resending may fail the same way.
    SERVER_ERROR = "server_error"
    #: 424 inside a `$batch`: not attempted because the request it depends on failed.
    FAILED_DEPENDENCY = "failed_dependency"
    #: 401 / 403: the token or its permissions were refused.
    AUTH = "auth"
    #: Any other status: the request itself was refused (400, 404, 409, ...).
    REFUSED = "refused"
    #: No answer came back (read timeout, dropped connection): the request MAY have run.
    NO_ANSWER = "no_answer"
    #: The request never left (connection refused, connect timeout): nothing happened.
    UNREACHABLE = "unreachable"


#: Verdicts that say Graph is down or not answering, as opposed to alive and refusing or busy.
DARK_VERDICTS: frozenset[Verdict] = frozenset(
    {Verdict.UNAVAILABLE, Verdict.SERVER_ERROR, Verdict.NO_ANSWER, Verdict.UNREACHABLE}
)


class DeadlineReached(GraphError):
    """A request was not sent, or a wait not begun, because the run's deadline comes first."""


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """What Graph said about one failed request, read defensively from any body."""

    status: int
    code: str | None
    message: str
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer, classified once: what it means, the error to report, Graph's Retry-After."""

    verdict: Verdict
    #: None on success; else the `GraphError` subclass a person would be shown.
    error: GraphError | None = None
    #: The raw `Retry-After` header value, when Graph sent one.
    retry_after: str | None = None
    #: The answer's JSON body (success bodies carry the contact, lists carry `value`).
    body: Any = None


def classify(
    status: int,
    body: bytes | str | Mapping[str, Any] | None,
    headers: Mapping[str, str] | httpx.Headers | None = None,
    *,
    what: str = "the request",
) -> Answer:
    """Read an answer (outer or inner batch response) once: the only "read the status, decide".

    `body` may be raw bytes (an HTTP answer) or already-parsed JSON (an inner batch answer).
    """
    header_map = _lower_headers(headers)
    data: Any = read_json(body) if isinstance(body, bytes | bytearray) else body
    code = None if 200 <= status < 300 else read_error(status, body, header_map).code
    kind = verdict(status, code)
    if kind is Verdict.SUCCESS:
        return Answer(kind, body=data)
    error = error_from_response(status, body, header_map, what=what)
    return Answer(kind, error, header_map.get("retry-after"), data)


def classify_failure(exc: GraphError) -> Answer:
    """The `Answer` for a request that got no HTTP answer (the client's translated exception)."""
    if isinstance(exc, AuthFailed):
        return Answer(Verdict.AUTH, exc)
    if isinstance(exc, OutcomeUnknown):
        return Answer(Verdict.NO_ANSWER, exc)
    return Answer(Verdict.UNREACHABLE, exc)


def verdict(status: int, code: str | None = None) -> Verdict:
    """Classify one answer (outer or inner batch response) by status and OData code."""
    if code is not None and code.casefold() in THROTTLE_CODES:
        return Verdict.THROTTLED
    if 200 <= status < 300:
        return Verdict.SUCCESS
    if status == 429:
        return Verdict.THROTTLED
    if status in (503, 504):
        return Verdict.UNAVAILABLE
    if status >= 500:
        return Verdict.SERVER_ERROR
    if status == 424:
        return Verdict.FAILED_DEPENDENCY
    if status in (401, 403):
        return Verdict.AUTH
    return Verdict.REFUSED


def is_retryable(status: int, code: str | None = None) -> bool:
    """True for 429, 503, 504 and the throttle codes (e.g. ErrorTooManyObjectsOpened)."""
    return verdict(status, code) in (Verdict.THROTTLED, Verdict.UNAVAILABLE)


def is_permission_refused(error: GraphError) -> bool:
    """True when Graph took the token but its permissions do not reach the resource (403)."""
    return error.status == 403


#: Codes that say a delta token is no longer usable (`concepts/errors.md`, reference §2.4).
RESYNC_CODES: frozenset[str] = frozenset(
    {"syncstatenotfound", "resyncrequired", "syncstateinvalid"}
)


def needs_resync(error: GraphError) -> bool:
    """True when a delta round was refused because its token expired or is unknown.

    Graph answers `410 Gone` (with a Location, after tenant maintenance) or a 4xx with code
    `syncStateNotFound` / `resyncRequired` (delta-query-overview "synchronization reset"):
    either way the client starts a full round.
    """
    return error.status == 410 or (error.code or "").casefold() in RESYNC_CODES


def is_token_rejected(status: int) -> bool:
    """True when Graph refused the bearer token itself (401), so a fresh token may help."""
    return status == 401


def read_json(content: bytes | str | None) -> Any:
    """The JSON value of a body, or None when it is empty or not JSON (HTML, truncated, ...)."""
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def read_error(
    status: int,
    body: bytes | str | Mapping[str, Any] | None,
    headers: Mapping[str, str] | httpx.Headers | None = None,
) -> ErrorDetail:
    """Read the OData error of an answer; never raises, whatever the body holds."""
    header_map = _lower_headers(headers)
    data: Any = body if isinstance(body, Mapping) else read_json(body)
    error = data.get("error") if isinstance(data, Mapping) else None
    if isinstance(error, Mapping):
        code = error.get("code") if isinstance(error.get("code"), str) else None
        raw_message = error.get("message")
        message = raw_message.strip() if isinstance(raw_message, str) else ""
        inner = error.get("innerError") or error.get("innererror")
        request_id = inner.get("request-id") if isinstance(inner, Mapping) else None
        return ErrorDetail(
            status=status,
            code=code or None,
            message=_shorten(message) or "no reason given",
            request_id=str(request_id) if request_id else header_map.get("request-id"),
        )
    return ErrorDetail(
        status=status,
        code=None,
        message=_describe_unreadable(body, header_map),
        request_id=header_map.get("request-id"),
    )


def error_from_response(
    status: int,
    body: bytes | str | Mapping[str, Any] | None,
    headers: Mapping[str, str] | httpx.Headers | None = None,
    *,
    what: str = "the request",
) -> GraphError:
    """The `GraphError` subclass for a failed answer, with a one-sentence message.

    `what` names the thing asked for ("the contact", "the folder list") and appears in the
    message, e.g. "Office 365 refused the contact: <Graph message> (400 ErrorInvalidProperty)."
    """
    detail = read_error(status, body, headers)
    label = f"{status} {detail.code}" if detail.code else str(status)
    kind = verdict(status, detail.code)
    fields: dict[str, Any] = {
        "status": status,
        "code": detail.code,
        "request_id": detail.request_id,
    }
    if kind in (Verdict.THROTTLED, Verdict.UNAVAILABLE):
        return Throttled(
            f"Office 365 is busy and did not do {what} ({label}: {detail.message}); "
            "wait a few minutes and run again.",
            **fields,
        )
    if status == 401:
        return AuthFailed(
            f"Office 365 refused the access token for {what} ({label}: {detail.message}); "
            "check the tenant, client id and credential.",
            **fields,
        )
    if status == 403:
        return AuthFailed(
            f"Office 365 denied access for {what} ({label}: {detail.message}); grant the app "
            "Contacts.ReadWrite on this mailbox (with admin consent for application permissions).",
            **fields,
        )
    if status == 404 or (detail.code or "").casefold() in {"erroritemnotfound", "itemnotfound"}:
        return NotFound(
            f"Office 365 could not find what {what} needs ({label}: {detail.message}); "
            "check the mailbox and folder settings.",
            **fields,
        )
    if status in (409, 412):
        return Conflict(
            f"Office 365 reported a conflict for {what} ({label}: {detail.message}); "
            "plan again against the folder as it is now.",
            **fields,
        )
    return GraphError(f"Office 365 refused {what}: {detail.message} ({label}).", **fields)


def error_from_transport(exc: httpx.TransportError, *, what: str = "the request") -> GraphError:
    """Translate a network failure; `OutcomeUnknown` when the request may have reached Graph.

    A connect error or connect/pool timeout happens before a byte is sent, so nothing was done.
    Anything later (read/write timeout, dropped connection) may have been processed by Graph.
    """
    reason = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return GraphError(
            f"Office 365 could not be reached for {what} ({reason}); "
            "check the network, proxy and Graph URL."
        )
    return OutcomeUnknown(
        f"{what[0].upper()}{what[1:]} was sent to Office 365 but no answer came back ({reason}); "
        "it may or may not have been applied."
    )


def gave_up(last: GraphError, attempts: int) -> str:
    """The one-sentence reason for a record abandoned after `attempts` retryable answers."""
    label = " ".join(str(part) for part in (last.status, last.code) if part) or "no answer"
    if isinstance(last, OutcomeUnknown):
        return (
            f"No answer came back from Office 365 after {attempts} attempts ({label}); "
            "look for the contact in the folder before running the sync again."
        )
    return (
        f"Office 365 kept throttling or failing ({label}) so central365 gave up after "
        f"{attempts} attempts; run the sync again later."
    )


def deadline_reason(deadline_s: float) -> str:
    """Why a record was skipped when the run's deadline passed before it was written."""
    return (
        f"The run reached its deadline of {_seconds(deadline_s)} (CENTRAL365_RUN_DEADLINE) "
        "before this contact was written; run the sync again."
    )


def wait_too_long_reason(wait_s: float, why: str, left_s: float) -> str:
    """Why a record was skipped when Graph asked for a wait longer than the run has left."""
    left = (
        f"longer than the {_seconds(left_s)} left before the run's deadline"
        if left_s > 0
        else "and the run's deadline has passed"
    )
    return (
        f"Office 365 asked us to wait {_seconds(wait_s)} ({why}), {left} "
        "(CENTRAL365_RUN_DEADLINE); run the sync again later."
    )


def _seconds(value: float) -> str:
    return "no time" if value <= 0 else f"{math.ceil(value):.0f} s"


def token_error(result: Mapping[str, Any], *, action: str) -> AuthFailed:
    """`AuthFailed` for an MSAL result dict without a token (its `error` and description only)."""
    code = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or "no description").strip()
    first_line = _shorten(description.splitlines()[0] if description else "no description")
    return AuthFailed(
        f"Could not get a token from Microsoft Entra ID by {action} ({code}: {first_line}); "
        "check the tenant id, client id and credential.",
        code=code,
    )


def _lower_headers(headers: Mapping[str, str] | httpx.Headers | None) -> dict[str, str]:
    if headers is None:
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _describe_unreadable(
    body: bytes | str | Mapping[str, Any] | None, headers: Mapping[str, str]
) -> str:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    text = body if isinstance(body, str) else ""
    if isinstance(body, bytes | bytearray):
        text = bytes(body[:200]).decode("utf-8", "replace")
    if not text.strip() and not content_type:
        return "the answer had no body"
    if "html" in content_type or text.lstrip().startswith("<"):
        return "the answer was an HTML page, not Graph JSON (often a proxy or gateway failure)"
    return f"the answer was not Graph JSON ({content_type or 'unknown content type'})"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_QUOTED_MESSAGE:
        return text
    return text[: MAX_QUOTED_MESSAGE - 1] + "…"
