"""Thin typed Microsoft Graph calls on an injected `httpx.Client`, for one mailbox.

Owns: the mailbox's user path (`/me` or `/users/{id|UPN}`), URL and query building, the
`Prefer: IdType="ImmutableId"` header on every request, paging through every `@odata.nextLink`
exactly as given, the per-mailbox limits (at most 4 requests in flight, the shared throttle
`Fence`, the request budget paced by `graph.pacer`), the run's deadline (no request outlives
it, no wait goes past it) and the waiting notifications, the retry loop for single requests,
and masked request logging.

Must not: know what a status means (asks `graph.errors`), build or read `$batch` bodies
(`graph.batch`), know contacts or folders (`graph.folder`, `graph.mailbox`), create its own
`httpx.Client` (`graph.mailbox.connect` does), or log tokens, query values, emails or bodies.

Replay rules (reference §4.2, corso's "retry only replayable requests"): GET and PATCH are
replayable, so they are retried after 429, 503, 504, throttle codes and lost answers.  A POST is
retried only when Graph certainly did nothing (429 / throttle code, or the connection never
opened); a POST whose answer was lost raises `OutcomeUnknown` for the caller to resolve.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from central365.core.errors import GraphError
from central365.core.ports import RunLimits, WaitCallback
from central365.graph.batch import IMMUTABLE_ID_PREFER, MAILBOX_CONCURRENCY
from central365.graph.decide import Action, Decision, Member, Timing, decide
from central365.graph.errors import (
    Answer,
    DeadlineReached,
    Verdict,
    classify,
    classify_failure,
    deadline_reason,
    error_from_transport,
    wait_too_long_reason,
)
from central365.graph.pacer import Pacer
from central365.graph.throttle import (
    Clock,
    Deadline,
    Fence,
    RetryPolicy,
    SystemClock,
    default_jitter,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

#: Characters left as they are in query values: OData punctuation that Graph reads literally.
#: Everything else (spaces, `@`, `+`, `&`, `#`, non-ASCII) is percent-encoded.
_QUERY_SAFE = "$,/:()'"

#: Path segments safe to log; every other segment (ids, UPNs) is masked (corso `LoggableURL`).
_LOGGABLE_SEGMENTS = frozenset(
    {
        "v1.0",
        "beta",
        "me",
        "users",
        "contactFolders",
        "childFolders",
        "contacts",
        "$batch",
        "groups",
        "transitiveMembers",
    }
)


def user_path(mailbox: str) -> str:
    """`/me` for the signed-in user, else `/users/{id or UPN}` with the value fully escaped."""
    if mailbox.strip().casefold() == "me":
        return "/me"
    return f"/users/{quote(mailbox.strip(), safe='')}"


def graph_id(value: str) -> str:
    """An id as a path segment: `/` and other reserved characters escaped, `=` kept."""
    return quote(value, safe="=")


def odata_string(value: str) -> str:
    """An OData string literal: single quotes around, inner `'` doubled."""
    return "'" + value.replace("'", "''") + "'"


def build_query(params: Mapping[str, str]) -> str:
    """`$select=a,b&$top=1000` style query text, values percent-encoded (spaces as %20)."""
    return "&".join(f"{key}={quote(value, safe=_QUERY_SAFE)}" for key, value in params.items())


def loggable_url(url: str) -> str:
    """The URL with ids and UPNs masked and only the names of query parameters kept."""
    parts = urlsplit(url)
    segments = [
        seg if seg in _LOGGABLE_SEGMENTS or not seg else "***" for seg in parts.path.split("/")
    ]
    names = [item.split("=", 1)[0] for item in parts.query.split("&") if item]
    query = ("?" + "&".join(names)) if names else ""
    return "/".join(segments) + query


class GraphClient:
    """Graph calls for one mailbox over an injected `httpx.Client` (which must carry the auth).

    Args:
        http: the client to send with; never closed here.
        base_url: the version root, e.g. `https://graph.microsoft.com/v1.0` or a sandbox's.
        mailbox: `me`, a user id or a UPN.
        policy: retry knobs (clamped); default `RetryPolicy()`.
        clock: time source for the fence and Retry-After dates; default the system clock.
        fence: the mailbox's shared pause; default a new one on `clock`.
        jitter: random numbers in [0, 1) for backoff; default an unseeded generator.
        max_in_flight: requests sent at the same time through this client (clamped to 1..4).
    """

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        mailbox: str,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        fence: Fence | None = None,
        jitter: Callable[[], float] | None = None,
        max_in_flight: int = MAILBOX_CONCURRENCY,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self.mailbox = mailbox
        self.user_path = user_path(mailbox)
        self.policy = policy or RetryPolicy()
        self.clock: Clock = clock or SystemClock()
        self.fence = fence or Fence(self.clock)
        self._jitter = jitter or default_jitter()
        self._slots = threading.BoundedSemaphore(max(1, min(MAILBOX_CONCURRENCY, max_in_flight)))
        self.deadline = Deadline.unlimited(self.clock)
        #: The mailbox's request budget, once a 429 showed it (shared by every call).
        self.pacer = Pacer()
        self._limits: RunLimits | None = None
        self._on_wait: WaitCallback | None = None
        #: Why the run ended before its deadline (Graph asked for a wait longer than the time
        #: left): from then on no worker of the run sends, whatever it had already checked.
        self._run_over: str | None = None
        self._run_over_lock = threading.Lock()

    def limit_run(self, limits: RunLimits | None) -> None:
        """Start the run's deadline now and tell `limits.on_wait` of every pause; None lifts both.

        The same `limits` again keeps the deadline already running (the mailbox and its folder
        share this client, and both are told).
        """
        if limits is self._limits:
            return
        self._limits = limits
        with self._run_over_lock:
            self._run_over = None
        seconds = limits.deadline_s if limits is not None else math.inf
        self.deadline = Deadline(self.clock, seconds)
        self._on_wait = limits.on_wait if limits is not None else None

    def timing(self) -> Timing:
        """The inputs of a retry decision, now."""
        return Timing(self.policy, self.clock.time(), self._jitter())

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """Absolute URL for a path under the version root (`/me/contactFolders`, `/$batch`)."""
        query = build_query(params) if params else ""
        return f"{self._base_url}{path}" + (f"?{query}" if query else "")

    # -- one attempt ------------------------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        what: str = "the request",
        units: int = 1,
        prefer: str | None = None,
    ) -> httpx.Response:
        """Send once, after the fence opens, the budget has room for `units` (a `$batch`
        counts its members) and a mailbox slot is free; the body is read.

        `prefer` adds a preference (`odata.maxpagesize=1000`) beside the immutable-id one.

        Returns every HTTP answer as is (errors included).  Raises `GraphError` when Graph could
        not be reached, `OutcomeUnknown` when the request may have arrived but no answer came,
        `AuthFailed` when no token could be had, and `DeadlineReached` (nothing sent) when the
        run's deadline has passed, the fence or the budget would hold past it, or a wait
        longer than the time left already ended the run (`wait`).
        """
        headers = {"Prefer": f"{IMMUTABLE_ID_PREFER}, {prefer}" if prefer else IMMUTABLE_ID_PREFER}
        self._wait_for_fence()
        self._wait_for_budget(units)
        with self._slots:
            try:
                self._check_run_over()  # again: another worker may have ended it meanwhile
                timeout = self._timeout()
            except DeadlineReached:
                self.pacer.refund(units)
                raise
            started = time.perf_counter()
            try:
                response = self._http.request(
                    method, url, json=json, headers=headers, timeout=timeout
                )
            except httpx.TransportError as exc:
                logger.warning("%s %s failed: %s", method, loggable_url(url), type(exc).__name__)
                raise error_from_transport(exc, what=what) from exc
        logger.debug(
            "%s %s -> %s in %.2fs",
            method,
            loggable_url(url),
            response.status_code,
            time.perf_counter() - started,
        )
        return response

    def retry_delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait after the `attempt`-th try: Retry-After if readable, else backoff."""
        seconds = parse_retry_after(retry_after, self.clock.time())
        return self.policy.delay(attempt, seconds, self._jitter())

    def pause(self, seconds: float, reason: str) -> None:
        """Hold every worker of this mailbox for `seconds` (the throttle fence); tell the run."""
        logger.info("pausing requests to the mailbox for %.1fs (%s)", seconds, reason)
        self.fence.hold(seconds)
        if self._on_wait is not None and seconds > 0:
            self._on_wait(reason, seconds)

    def wait(self, decision: Decision) -> None:
        """Apply a decision's pause, or raise `DeadlineReached` when it (or the Retry-After
        Graph asked for, uncapped) is longer than the run has left; the run is then over, and
        every later send of it raises the same reason."""
        longest = max(decision.delay, decision.asked or 0.0)
        left = self.deadline.remaining()
        if longest > left:
            reason = wait_too_long_reason(longest, decision.reason, left)
            with self._run_over_lock:
                self._run_over = self._run_over or reason
            raise DeadlineReached(reason)
        self.pause(decision.delay, decision.reason)

    def throttled(self, retry_afters: Iterable[str | None], refused: int) -> None:
        """An answer came: `refused` units were not counted by the mailbox, and the longest of
        the 429s' `retry_afters` (if any) may teach the budget (`graph.pacer`)."""
        self.pacer.refund(refused)
        now = self.clock.time()
        waits = [s for r in retry_afters if (s := parse_retry_after(r, now)) is not None]
        if waits:
            seconds = max(waits)
            budget = self.pacer.learn(self.clock.monotonic(), seconds)
            if budget is not None:
                logger.debug("mailbox budget: %d requests per %.0fs", budget.units, budget.window_s)

    def _check_run_over(self) -> None:
        """Raise `DeadlineReached` with the first reason once a wait ended the run: the other
        requests of the run must not go into a mailbox that asked for the pause."""
        with self._run_over_lock:
            reason = self._run_over
        if reason is not None:
            raise DeadlineReached(reason)

    def _wait_for_budget(self, units: int) -> None:
        """Wait until the learnt budget has room; a wait past the deadline sends nothing."""
        now = self.clock.monotonic()
        held = self.pacer.reserve(units, now) - now
        if held <= 0:
            return
        left = self.deadline.remaining()
        if held > left:
            self.pacer.refund(units)
            raise DeadlineReached(wait_too_long_reason(held, "the mailbox's request budget", left))
        if held >= 1 and self._on_wait is not None:
            self._on_wait("pacing to the mailbox's request budget", held)
        self.clock.sleep(held)

    def _wait_for_fence(self) -> None:
        self._check_run_over()  # the run is over: no point waiting for the fence to open
        held = self.fence.remaining()
        left = self.deadline.remaining()
        if held > left:
            raise DeadlineReached(wait_too_long_reason(held, "a pause of the mailbox", left))
        self.fence.wait()

    def _timeout(self) -> httpx.Timeout:
        """The client's timeouts, each cut to the time the run has left."""
        base = self._http.timeout
        if not self.deadline.limited:
            return base
        left = self.deadline.remaining()
        if left <= 0:
            raise DeadlineReached(deadline_reason(self.deadline.seconds))

        def cut(value: float | None) -> float:
            return left if value is None else min(value, left)

        return httpx.Timeout(
            connect=cut(base.connect),
            read=cut(base.read),
            write=cut(base.write),
            pool=cut(base.pool),
        )

    # -- retried calls ----------------------------------------------------------------------

    def attempt(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        what: str,
        units: int = 1,
        prefer: str | None = None,
    ) -> Answer:
        """Send once and classify the answer; only `DeadlineReached` is raised."""
        try:
            response = self.send(method, url, json=json, what=what, units=units, prefer=prefer)
        except DeadlineReached:
            raise
        except GraphError as exc:
            return classify_failure(exc)
        return classify(response.status_code, response.content, response.headers, what=what)

    def call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        replayable: bool,
        what: str = "the request",
        prefer: str | None = None,
    ) -> Any:
        """Send with retries and return the answer's JSON (None for an empty body).

        Raises the `GraphError` subclass for the last failed answer (`Throttled` once retries
        are used up), `OutcomeUnknown` for a non-replayable request whose answer was lost, or
        `DeadlineReached` when a wait would go past the run's deadline.
        """
        member = Member(create=not replayable)
        while True:
            answer = self.attempt(method, url, json=json, what=what, prefer=prefer)
            if answer.verdict is Verdict.SUCCESS:
                return answer.body
            if answer.verdict is Verdict.THROTTLED:
                self.throttled([answer.retry_after], refused=1)
            decision = decide(answer, member, self.timing())
            if decision.action is not Action.WAIT or answer.error is None:
                raise answer.error or GraphError(f"Office 365 did not do {what}.")
            self.wait(decision)
            member = Member(create=member.create, attempts=member.attempts + 1)

    def get(self, url: str, *, what: str = "the request", prefer: str | None = None) -> Any:
        return self.call("GET", url, replayable=True, what=what, prefer=prefer)

    def patch(self, url: str, body: Mapping[str, Any], *, what: str = "the request") -> Any:
        return self.call("PATCH", url, json=dict(body), replayable=True, what=what)

    def post(self, url: str, body: Mapping[str, Any], *, what: str = "the request") -> Any:
        return self.call("POST", url, json=dict(body), replayable=False, what=what)

    def pages(self, url: str, *, what: str = "the list") -> Iterator[Mapping[str, Any]]:
        """Every item of a collection, following each `@odata.nextLink` exactly as given."""
        next_url: str | None = url
        while next_url is not None:
            page = self.get(next_url, what=what)
            if not isinstance(page, Mapping):
                raise GraphError(
                    f"Office 365 answered {what} with something that is not a Graph list; "
                    "check that the Graph URL points at Microsoft Graph v1.0."
                )
            for item in page.get("value") or ():
                if isinstance(item, Mapping):
                    yield item
            link = page.get("@odata.nextLink")
            next_url = link if isinstance(link, str) and link else None
