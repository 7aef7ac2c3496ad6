"""When to retry a Graph request and how long to wait: pure decisions plus one shared pause.

Owns: reading `Retry-After` (seconds, decimal seconds such as the documented `2.128`, or an
HTTP-date), the bounded jittered exponential backoff used when it is missing, the clamped retry
knobs (`RetryPolicy`), and the `Fence` — one pause shared by every worker of one mailbox, so that a
single 429 holds them all until its Retry-After has passed (corso's `timedFence`).

Must not: send requests, know HTTP statuses or OData codes (that is `graph.errors`), or read the
real clock directly — time comes from an injected `Clock` so tests run on a fake one.

Graph's rule (reference §4.2, `mgdc: concepts/throttling.md`): wait the Retry-After seconds, then
retry; without one, back off exponentially; never retry at once, since throttled calls still count.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

#: Attempts per request or record, the first one included.  Without Retry-After the waits are
#: 1+2+4+8+16+32+5 times 60 s ≈ 6 minutes at most (before jitter).  A record meeting a fault on half
#: of all answers still fails alone only once in 4,096 (8 attempts: once in 256); a mailbox
#: that is truly down is stopped sooner by the circuit breaker and the run's deadline.
DEFAULT_MAX_ATTEMPTS = 12
MAX_ATTEMPTS_CEILING = 20

#: First backoff step; doubles per attempt (1, 2, 4, ... s).
DEFAULT_BASE_DELAY = 1.0
#: Backoff ceiling without Retry-After.  Graph's documented samples say 2.128 s and 10 s.
DEFAULT_MAX_DELAY = 60.0
#: Longest Retry-After we honour as given; Outlook's quotas are counted per 10 minutes
#: (10,000 requests / 600 s, reference §4.1), so a pause never needs to exceed that window.
DEFAULT_MAX_RETRY_AFTER = 600.0


class Clock(Protocol):
    """Time as the retry layer needs it; `SystemClock` in production, a fake one in tests."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for deadlines)."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (to read a Retry-After HTTP-date)."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header value, or None when absent or unreadable.

    Accepts delta-seconds, including decimals ("2.128"), and HTTP-dates
    ("Wed, 21 Oct 2026 07:28:00 GMT"), measured from `now` (epoch seconds).  A date in the past
    or a negative number gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:  # RFC 850 / asctime forms carry no zone: they mean GMT
            return None
        return max(0.0, moment.timestamp() - now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The retry knobs.  Out-of-range values are clamped, never rejected (corso's options).

    - `max_attempts`: tries per request/record, first one included (1..20).
    - `base_delay`: first backoff step in seconds (0.05..10); doubles per attempt.
    - `max_delay`: backoff ceiling when Graph gives no Retry-After (base..300 s).
    - `max_retry_after`: longest Retry-After honoured as given (1..3600 s); longer ones are cut.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_delay: float = DEFAULT_BASE_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER

    def __post_init__(self) -> None:
        base = _clamp(float(self.base_delay), 0.05, 10.0)
        object.__setattr__(self, "max_attempts", int(_clamp(self.max_attempts, 1, 20)))
        object.__setattr__(self, "base_delay", base)
        object.__setattr__(self, "max_delay", _clamp(float(self.max_delay), base, 300.0))
        object.__setattr__(
            self, "max_retry_after", _clamp(float(self.max_retry_after), 1.0, 3600.0)
        )

    def can_retry(self, attempts: int) -> bool:
        """True when a request already tried `attempts` times may be tried again."""
        return attempts < self.max_attempts

    def backoff(self, attempt: int, jitter: float) -> float:
        """Wait after the `attempt`-th failure (1-based) when Graph said nothing.

        "Equal jitter": half the exponential step plus a random share of the other half, so
        workers spread out yet never retry at once.  `jitter` is a number in [0, 1).
        """
        step = min(self.max_delay, self.base_delay * 2.0 ** max(0, min(attempt - 1, 30)))
        return step / 2.0 + _clamp(jitter, 0.0, 1.0) * step / 2.0

    def delay(self, attempt: int, retry_after: float | None, jitter: float) -> float:
        """Retry-After when Graph gave one (capped at `max_retry_after`), else `backoff`."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.backoff(attempt, jitter)


class Fence:
    """One pause shared by every worker of one mailbox.

    `hold(seconds)` moves the fence's end later (never earlier); `wait()` blocks the caller until
    the end has passed, re-checking because another worker may have moved it meanwhile.  Built
    per mailbox by the client, never at import time.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._until = -math.inf

    def hold(self, seconds: float) -> None:
        """Pause every worker for at least `seconds` from now."""
        with self._lock:
            self._until = max(self._until, self._clock.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        """Seconds until the fence opens (0 when open)."""
        with self._lock:
            return max(0.0, self._until - self._clock.monotonic())

    def wait(self) -> None:
        """Block until the fence is open."""
        while (left := self.remaining()) > 0:
            self._clock.sleep(left)


class Deadline:
    """The moment a run must end by, on an injected clock; `unlimited()` never comes.

    Built when a run starts (`GraphClient.limit_run`), never at import time.
    """

    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self.seconds = seconds
        self._end = clock.monotonic() + seconds

    @classmethod
    def unlimited(cls, clock: Clock) -> Deadline:
        return cls(clock, math.inf)

    @property
    def limited(self) -> bool:
        return math.isfinite(self._end)

    def remaining(self) -> float:
        """Seconds left (0 once passed; infinity when unlimited)."""
        return max(0.0, self._end - self._clock.monotonic())

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0


def default_jitter() -> Callable[[], float]:
    """A jitter source for `RetryPolicy.backoff` (a fresh, unseeded generator)."""
    return random.Random().random
