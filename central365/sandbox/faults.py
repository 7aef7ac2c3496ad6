"""Fault injection and Outlook's throttling model, for tests and benchmarks.

`FaultConfig` is the plain, frozen configuration (CLI options and `PUT /_sandbox/faults` build
one).  `FaultInjector` is the running state behind it: the seeded RNG, the scripted rules with
their remaining uses, and `MailboxThrottle`.

The throttle follows reference §3.1 and §4.1, counted per mailbox (the sandbox has one app):

- concurrency: at most `mailbox_concurrency` (4) requests of a mailbox in flight.  A request
  that would exceed it gets 429 `ApplicationThrottled` "Application is over its
  MailboxConcurrency limit." with `Retry-After` (field reports, reference §4.3);
- budget: at most `window_requests` (10,000) requests per `window_s` (600 s) per mailbox; a
  request over budget gets 429 `ApplicationThrottled` with Retry-After = seconds until the
  oldest counted request leaves the window.  Throttled requests are not counted (the docs say
  they count; not counting keeps Retry-After truthful, which is what clients are tested on);
- service time: every mailbox operation (a plain request or a `$batch` member that runs)
  holds its slot for `op_ms`, as Exchange spends time on each item a batch carries; the
  network round trip (`latency_ms`) is charged once per HTTP request.

How much a `$batch` holds is decided in `central365.sandbox.batch_exec`.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from central365.mailstore.problem import GraphProblem

OUTLOOK_CONCURRENCY = 4
OUTLOOK_WINDOW_REQUESTS = 10_000
OUTLOOK_WINDOW_S = 600.0


class FaultKind(StrEnum):
    """What a random fault answers."""

    TOO_MANY_REQUESTS = "429"
    SERVICE_UNAVAILABLE = "503"
    GATEWAY_TIMEOUT = "504"
    #: 429 whose body code is `ErrorTooManyObjectsOpened`, never with Retry-After (§4.3).
    TOO_MANY_OBJECTS = "ErrorTooManyObjectsOpened"


class FaultScope(StrEnum):
    """Which requests random faults hit: top-level HTTP requests, `$batch` members, or both."""

    TOP_LEVEL = "top"
    INNER = "inner"
    BOTH = "both"


@dataclass(frozen=True)
class FaultConfig:
    """Every knob of the sandbox's misbehaviour; the defaults model a healthy Outlook.

    latency_ms               added to every HTTP request (a batch is one request), while the
                             request holds its mailbox slot(s): the network round trip
    op_ms                    service time of one mailbox operation (a plain request or a
                             `$batch` member that runs), held in one slot: a dependsOn chain
                             spends it member after member, an unordered batch up to 4 at once
    mailbox_concurrency      in-flight requests per mailbox before 429; None switches it off
    concurrency_retry_after_s  Retry-After of a concurrency 429
    window_requests          requests per mailbox per `window_s`; None switches it off
    window_s                 the budget's window in seconds
    fault_rate               probability (0..1) that a request gets a random fault
    fault_kinds              what random faults answer (picked uniformly)
    fault_retry_after_s      Retry-After on random 429/503/504; None sends none
    fault_scope              which requests random faults hit
    seed                     seeds the RNG (reseeded whenever the config is replaced)
    shuffle_batch_responses  answer `$batch` members in a seeded random order, so clients that
                             rely on order (Graph does not promise it) fail in tests
    display_name_overwrite   every PATCH without `displayName` regenerates it, whatever it
                             changes (reference §1.1 "may overwrite"), so a client that does
                             not resend displayName loses it in tests
    """

    latency_ms: int = 0
    op_ms: int = 0
    mailbox_concurrency: int | None = OUTLOOK_CONCURRENCY
    concurrency_retry_after_s: int = 1
    window_requests: int | None = OUTLOOK_WINDOW_REQUESTS
    window_s: float = OUTLOOK_WINDOW_S
    fault_rate: float = 0.0
    fault_kinds: tuple[FaultKind, ...] = (
        FaultKind.TOO_MANY_REQUESTS,
        FaultKind.SERVICE_UNAVAILABLE,
        FaultKind.GATEWAY_TIMEOUT,
    )
    fault_retry_after_s: int | None = 1
    fault_scope: FaultScope = FaultScope.BOTH
    seed: int = 0
    shuffle_batch_responses: bool = False
    display_name_overwrite: bool = False

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid sandbox fault configuration: " + "; ".join(problems))

    def problems(self) -> list[str]:
        found: list[str] = []
        if self.latency_ms < 0:
            found.append("latency_ms must be >= 0")
        if self.op_ms < 0:
            found.append("op_ms must be >= 0")
        if self.mailbox_concurrency is not None and self.mailbox_concurrency < 1:
            found.append("mailbox_concurrency must be >= 1 (or None to switch it off)")
        if self.concurrency_retry_after_s < 0:
            found.append("concurrency_retry_after_s must be >= 0")
        if self.window_requests is not None and self.window_requests < 1:
            found.append("window_requests must be >= 1 (or None to switch it off)")
        if self.window_s <= 0:
            found.append("window_s must be > 0")
        if not 0.0 <= self.fault_rate <= 1.0:
            found.append("fault_rate must be between 0 and 1")
        if self.fault_rate > 0 and not self.fault_kinds:
            found.append("fault_kinds must not be empty when fault_rate > 0")
        if self.fault_retry_after_s is not None and self.fault_retry_after_s < 0:
            found.append("fault_retry_after_s must be >= 0 (or None)")
        return found

    @classmethod
    def from_options(
        cls,
        *,
        latency_ms: int = 0,
        op_ms: int = 0,
        throttle: bool = True,
        concurrency: int = OUTLOOK_CONCURRENCY,
        retry_after_s: int = 1,
        window_requests: int = OUTLOOK_WINDOW_REQUESTS,
        window_s: float = OUTLOOK_WINDOW_S,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] = ("429", "503", "504"),
        fault_retry_after: bool = True,
        too_many_objects: bool = False,
        fault_scope: str = "both",
        seed: int = 0,
        shuffle_batch_responses: bool = False,
    ) -> FaultConfig:
        """Build from CLI-style options: `--no-throttle` → `throttle=False` switches off both
        limits; `--too-many-objects` adds `ErrorTooManyObjectsOpened` to the random kinds.

        Raises ValueError naming every bad option.
        """
        kinds = [FaultKind(k) for k in fault_kinds]
        if too_many_objects and FaultKind.TOO_MANY_OBJECTS not in kinds:
            kinds.append(FaultKind.TOO_MANY_OBJECTS)
        return cls(
            latency_ms=latency_ms,
            op_ms=op_ms,
            mailbox_concurrency=concurrency if throttle else None,
            concurrency_retry_after_s=retry_after_s,
            window_requests=window_requests if throttle else None,
            window_s=window_s,
            fault_rate=fault_rate,
            fault_kinds=tuple(kinds),
            fault_retry_after_s=retry_after_s if fault_retry_after else None,
            fault_scope=FaultScope(fault_scope),
            seed=seed,
            shuffle_batch_responses=shuffle_batch_responses,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["fault_kinds"] = [str(k) for k in self.fault_kinds]
        data["fault_scope"] = str(self.fault_scope)
        return data

    def updated(self, changes: Mapping[str, Any]) -> FaultConfig:
        """A copy with the JSON fields in `changes` replaced (the admin API's PUT).

        Raises ValueError for unknown fields or bad values.
        """
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        values = dict(changes)
        try:
            if "fault_kinds" in values:
                values["fault_kinds"] = tuple(FaultKind(str(k)) for k in values["fault_kinds"])
            if "fault_scope" in values:
                values["fault_scope"] = FaultScope(values["fault_scope"])
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return replace(self, **values)


_DEFAULT_ERRORS: Mapping[int, tuple[str, str]] = {
    400: ("BadRequest", "Injected bad request."),
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    404: ("ErrorItemNotFound", "The specified object was not found in the store."),
    409: ("ErrorIrresolvableConflict", "The send or update operation could not be performed."),
    412: ("ErrorIrresolvableConflict", "The change key does not match the current change key."),
    429: ("TooManyRequests", "Please retry again later."),
    500: ("generalException", "An unexpected error occurred."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "The gateway did not receive a timely response."),
}


def injected_problem(
    status: int, code: str | None, message: str | None, retry_after: float | None
) -> GraphProblem:
    default_code, default_message = _DEFAULT_ERRORS.get(
        status, ("generalException", "Injected fault.")
    )
    headers = {} if retry_after is None else {"Retry-After": _seconds(retry_after)}
    return GraphProblem(status, code or default_code, message or default_message, headers=headers)


def too_many_objects() -> GraphProblem:
    return GraphProblem(
        429,
        "ErrorTooManyObjectsOpened",
        "Too many concurrent connections opened., Cannot open mailbox.",
    )


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass
class FaultRule:
    """One scripted fault, applied to the next `times` matching requests (None: forever).

    Matching: `method` (any when None), `path_contains` (substring of the path after `/v1.0`,
    raw or decoded), `inner` (True: only `$batch` members, False: only top-level requests,
    None: both).  Effect, in order:

    - `status` with `after_processing` False: answer the fault instead of running the request;
    - otherwise the request runs (a write happens), then `hang_after_processing_s` delays the
      answer, then `drop` breaks the connection, else `status` (if set) replaces the real
      answer.  Each of these leaves the client unsure whether the write happened.
    """

    status: int | None = None
    method: str | None = None
    path_contains: str | None = None
    retry_after: float | None = None
    code: str | None = None
    message: str | None = None
    times: int | None = 1
    inner: bool | None = None
    after_processing: bool = False
    hang_after_processing_s: float | None = None
    drop: bool = False

    def __post_init__(self) -> None:
        if self.status is None and self.hang_after_processing_s is None and not self.drop:
            raise ValueError("a fault rule needs a status, hang_after_processing_s or drop")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"fault rule status {self.status} is not an HTTP status")
        if self.times is not None and self.times < 1:
            raise ValueError("fault rule times must be >= 1 (or null for forever)")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault rule field(s): {', '.join(unknown)}")
        return cls(**data)

    @property
    def before_processing(self) -> bool:
        return (
            self.status is not None
            and not self.after_processing
            and self.hang_after_processing_s is None
            and not self.drop
        )

    def matches(self, method: str, paths: tuple[str, ...], inner: bool) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path_contains is not None and not any(self.path_contains in p for p in paths):
            return False
        return self.inner is None or self.inner == inner

    def problem(self) -> GraphProblem | None:
        if self.status is None:
            return None
        return injected_problem(self.status, self.code, self.message, self.retry_after)


class MailboxThrottle:
    """Outlook's per-mailbox concurrency slots and request budget (module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._in_use: dict[str, int] = {}
        self._windows: dict[str, deque[float]] = {}
        self.peak_in_flight: dict[str, int] = {}

    def acquire(self, mailbox: str, wanted: int, limit: int | None) -> int:
        """Take up to `wanted` slots without waiting; returns how many were granted."""
        with self._lock:
            used = self._in_use.get(mailbox, 0)
            granted = wanted if limit is None else max(0, min(wanted, limit - used))
            self._in_use[mailbox] = used + granted
            peak = self.peak_in_flight.get(mailbox, 0)
            self.peak_in_flight[mailbox] = max(peak, used + granted)
            return granted

    def release(self, mailbox: str, count: int) -> None:
        with self._lock:
            self._in_use[mailbox] = max(0, self._in_use.get(mailbox, 0) - count)

    def in_flight(self, mailbox: str) -> int:
        with self._lock:
            return self._in_use.get(mailbox, 0)

    def spend(self, mailbox: str, limit: int | None, window_s: float) -> float | None:
        """Count one request against the budget; None if allowed, else seconds to wait."""
        if limit is None:
            return None
        with self._lock:
            now = self._clock()
            window = self._windows.setdefault(mailbox, deque())
            while window and window[0] <= now - window_s:
                window.popleft()
            if len(window) >= limit:
                return max(1.0, math.ceil(window[0] + window_s - now))
            window.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self.peak_in_flight.clear()


def concurrency_throttled(retry_after_s: int) -> GraphProblem:
    return GraphProblem(
        429,
        "ApplicationThrottled",
        "Application is over its MailboxConcurrency limit.",
        headers={"Retry-After": str(retry_after_s)},
    )


def budget_throttled(retry_after_s: float) -> GraphProblem:
    return GraphProblem(
        429,
        "ApplicationThrottled",
        "Application is over its request limit for this mailbox.",
        headers={"Retry-After": _seconds(retry_after_s)},
    )


@dataclass
class FaultInjector:
    """The running fault state: config, seeded RNG, scripted rules and the throttle."""

    config: FaultConfig = field(default_factory=FaultConfig)
    throttle: MailboxThrottle = field(default_factory=MailboxThrottle)
    rules: list[FaultRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.rng = random.Random(self.config.seed)

    def configure(self, config: FaultConfig) -> None:
        """Replace the config and reseed, so a run after a PUT repeats exactly."""
        with self._lock:
            self.config = config
            self.rng = random.Random(config.seed)

    def script(self, rules: Iterable[FaultRule]) -> None:
        """Replace the scripted rules."""
        with self._lock:
            self.rules = list(rules)

    def take_rule(self, method: str, paths: tuple[str, ...], inner: bool) -> FaultRule | None:
        """The first rule matching this request, with one use consumed (spent rules vanish)."""
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, paths, inner):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times == 0:
                            self.rules.remove(rule)
                    return rule
            return None

    def random_fault(self, inner: bool) -> GraphProblem | None:
        """A random fault at `fault_rate` for this kind of request, or None."""
        config = self.config
        scope_ok = config.fault_scope is FaultScope.BOTH or (
            config.fault_scope is (FaultScope.INNER if inner else FaultScope.TOP_LEVEL)
        )
        if config.fault_rate <= 0 or not scope_ok:
            return None
        with self._lock:
            if self.rng.random() >= config.fault_rate:
                return None
            kind = self.rng.choice(config.fault_kinds)
        if kind is FaultKind.TOO_MANY_OBJECTS:
            return too_many_objects()
        return injected_problem(int(kind.value), None, None, config.fault_retry_after_s)

    def shuffle(self, items: list[Any]) -> None:
        with self._lock:
            self.rng.shuffle(items)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {**self.config.to_json(), "script": [asdict(r) for r in self.rules]}
