"""The round-level rules: the circuit breaker and the batch shape (`graph.breaker`)."""

from __future__ import annotations

import pytest

from central365.graph.batch import BatchStrategy
from central365.graph.breaker import Breaker, BreakerPolicy, breaker_reason, is_dark, next_shape
from central365.graph.errors import Verdict

D, L = True, False  # a dark round, a live one

#: (rounds as (start, end, dark), the round after which it opens or None)
CASES = [
    # six dark rounds in a row open it, however short
    ([(t, t + 1, D) for t in range(0, 12, 2)], 6),
    # 60 s of dark rounds open it after the second round
    ([(0, 30, D), (31, 61, D)], 2),
    # one long dark round alone does not: a single timeout is not "for a while"
    ([(0, 90, D)], None),
    # a live round in between starts the count again
    ([(0, 30, D), (31, 50, L), (51, 80, D), (81, 100, D)], None),
    ([(0, 30, D), (31, 50, L), (51, 80, D), (81, 112, D)], 4),
    # five short dark rounds: neither 6 rounds nor 60 s
    ([(t, t + 1, D) for t in range(0, 10, 2)], None),
]


@pytest.mark.parametrize(("rounds", "opens_after"), CASES)
def test_breaker(rounds: list[tuple[float, float, bool]], opens_after: int | None) -> None:
    breaker = Breaker(BreakerPolicy(seconds=60, rounds=6))
    opened = [breaker.record(start, end, dark) for start, end, dark in rounds]
    expected = [n + 1 == opens_after for n in range(len(rounds))]
    assert opened == expected


def test_breaker_measures_the_streak_from_its_first_round() -> None:
    breaker = Breaker()
    breaker.record(10, 40, True)
    assert breaker.dark_for(70) == 60
    breaker.record(71, 80, False)
    assert breaker.dark_for(90) == 0


@pytest.mark.parametrize(
    ("verdicts", "dark"),
    [
        ([], False),
        ([Verdict.NO_ANSWER], True),
        ([Verdict.UNAVAILABLE, Verdict.SERVER_ERROR, Verdict.UNREACHABLE], True),
        ([Verdict.UNAVAILABLE, Verdict.THROTTLED], False),  # throttled: Graph is alive
        ([Verdict.NO_ANSWER, Verdict.SUCCESS], False),
        ([Verdict.REFUSED], False),
    ],
)
def test_is_dark(verdicts: list[Verdict], dark: bool) -> None:
    assert is_dark(verdicts) is dark


@pytest.mark.parametrize(
    ("current", "failed_dependency", "answered", "expected"),
    [
        (BatchStrategy.SEQUENTIAL_CHAINS, 0, 100, BatchStrategy.SEQUENTIAL_CHAINS),
        (BatchStrategy.SEQUENTIAL_CHAINS, 6, 8, BatchStrategy.SEQUENTIAL_CHAINS),  # too few yet
        (BatchStrategy.SEQUENTIAL_CHAINS, 30, 100, BatchStrategy.SEQUENTIAL_CHAINS),
        (BatchStrategy.SEQUENTIAL_CHAINS, 20, 40, BatchStrategy.ONE_UNORDERED),
        (BatchStrategy.SEQUENTIAL_CHAINS, 95, 100, BatchStrategy.ONE_UNORDERED),
        (BatchStrategy.ONE_UNORDERED, 0, 100, BatchStrategy.ONE_UNORDERED),  # never turns back
    ],
)
def test_next_shape(
    current: BatchStrategy, failed_dependency: int, answered: int, expected: BatchStrategy
) -> None:
    assert next_shape(current, failed_dependency, answered) is expected


def test_breaker_reason() -> None:
    text = breaker_reason(61.4, "no answer came back")
    assert text.startswith("Office 365 answered nothing but errors or timeouts for 61 s")
    assert text.endswith("run the sync again later.")
