from __future__ import annotations

import threading
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from central365.graph.throttle import Fence, RetryPolicy, parse_retry_after
from tests.graph.conftest import FakeClock

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10", 10.0),
        ("2.128", 2.128),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("-5", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_http_date() -> None:
    moment = datetime.fromtimestamp(NOW + 42, tz=UTC)
    assert parse_retry_after(format_datetime(moment, usegmt=True), NOW) == pytest.approx(42)
    past = datetime.fromtimestamp(NOW - 42, tz=UTC)
    assert parse_retry_after(format_datetime(past, usegmt=True), NOW) == 0.0


def test_backoff_is_exponential_bounded_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=60.0)
    low = [policy.backoff(a, 0.0) for a in range(1, 10)]
    high = [policy.backoff(a, 0.999) for a in range(1, 10)]
    assert low[:4] == [0.5, 1.0, 2.0, 4.0]
    assert all(lo < hi <= 60.0 for lo, hi in zip(low, high, strict=True))
    assert max(high) <= 60.0 and min(low) > 0
    assert policy.backoff(1000, 0.5) <= 60.0  # no overflow for absurd attempt numbers


def test_delay_prefers_retry_after_but_caps_it() -> None:
    policy = RetryPolicy(max_retry_after=120)
    assert policy.delay(1, 2.128, 0.5) == 2.128
    assert policy.delay(1, 9999, 0.5) == 120
    assert policy.delay(3, None, 0.0) == policy.backoff(3, 0.0)


def test_knobs_are_clamped() -> None:
    wild = RetryPolicy(max_attempts=0, base_delay=-1, max_delay=1e9, max_retry_after=0)
    assert wild.max_attempts == 1
    assert wild.base_delay == 0.05
    assert wild.max_delay == 300.0
    assert wild.max_retry_after == 1.0
    assert RetryPolicy(max_attempts=1000).max_attempts == 20
    assert RetryPolicy(max_attempts=3).can_retry(2)
    assert not RetryPolicy(max_attempts=3).can_retry(3)


def test_fence_holds_until_retry_after_passes(clock: FakeClock) -> None:
    fence = Fence(clock)
    fence.wait()
    assert clock.sleeps == []
    fence.hold(10)
    fence.hold(3)  # a shorter hold never shortens the pause
    assert fence.remaining() == 10
    fence.wait()
    assert clock.now == 10
    assert fence.remaining() == 0


def test_one_hold_pauses_every_worker(clock: FakeClock) -> None:
    fence = Fence(clock)
    fence.hold(5)
    passed: list[float] = []

    def worker() -> None:
        fence.wait()
        passed.append(clock.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(passed) == 4
    assert all(at >= 5 for at in passed)
