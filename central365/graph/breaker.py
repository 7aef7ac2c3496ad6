"""Round-level rules of the write path: the circuit breaker, the deadline texts, the batch shape.

A write goes in rounds (every pending write sent once, in batches).  After each round:

- the **breaker** opens when Graph answered nothing but 5xx, timeouts or refused connections
  ("dark" rounds) for `BreakerPolicy.seconds` (at least two rounds) or `BreakerPolicy.rounds`
  rounds in a row; any round with a success, a throttle or a plain refusal closes it again,
  since Graph is then alive.  An open breaker ends the run: what is left is `skipped`;
- the **shape** turns from `dependsOn` chains to one unordered batch at a time when chains
  keep failing (one fault makes the rest of a chain 424): `next_shape`;
- `breaker_reason` says why the records left were skipped.

Must not: do I/O, sleep or read a clock (times are passed in), or know statuses beyond the
`Verdict`s that `graph.errors` gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from central365.graph.batch import MAX_BATCH_REQUESTS, BatchStrategy
from central365.graph.errors import DARK_VERDICTS, Verdict

#: A breaker opens after this long of dark rounds (Graph down or not answering)...
DEFAULT_BREAKER_SECONDS = 60.0
#: ...or after this many dark rounds in a row, whichever comes first.
DEFAULT_BREAKER_ROUNDS = 6
#: Chains turn unordered once this many members came back 424...
SHAPE_MIN_FAILED_DEPENDENCIES = MAX_BATCH_REQUESTS
#: ...and they are at least this share of every inner answer so far.
SHAPE_FAILED_DEPENDENCY_SHARE = 0.5

#: What a record skipped by the run's end may still be, when its create's answer was lost.
MAYBE_CREATED = " It may already be in the folder; the next plan will find it by email."


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When the breaker opens: `seconds` of dark rounds (two at least) or `rounds` of them."""

    seconds: float = DEFAULT_BREAKER_SECONDS
    rounds: int = DEFAULT_BREAKER_ROUNDS


def is_dark(verdicts: Iterable[Verdict]) -> bool:
    """True when a round heard something and all of it was a 5xx, a timeout or no connection."""
    seen = list(verdicts)
    return bool(seen) and all(v in DARK_VERDICTS for v in seen)


class Breaker:
    """Counts dark rounds in a row and when the first of them began; pure state, no clock."""

    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy or BreakerPolicy()
        self.rounds = 0
        self._since: float | None = None

    def record(self, started: float, ended: float, dark: bool) -> bool:
        """Note one round (monotonic start and end); True when the breaker is now open."""
        if not dark:
            self.rounds, self._since = 0, None
            return False
        self.rounds += 1
        if self._since is None:
            self._since = started
        return self.rounds >= self.policy.rounds or (
            self.rounds >= 2 and ended - self._since >= self.policy.seconds
        )

    def dark_for(self, now: float) -> float:
        """Seconds since the first dark round of the current streak began (0 when none)."""
        return 0.0 if self._since is None else max(0.0, now - self._since)


def breaker_reason(seconds: float, last: str) -> str:
    """Why the records left were skipped when the breaker opened."""
    return (
        f"Office 365 answered nothing but errors or timeouts for {seconds:.0f} s ({last}), so "
        "central365 stopped before writing this contact; run the sync again later."
    )


def next_shape(current: BatchStrategy, failed_dependency: int, answered: int) -> BatchStrategy:
    """The batch shape that loses least, from this write's inner answers so far.

    Chains lose the rest of a batch to one fault (424 for every member after it); once that
    has cost at least a batch's worth of members and half of all answers, one unordered batch
    at a time (each member fails alone; still 4 requests in the mailbox) loses less.
    Never turns back: the faults that made chains fail are likely to go on.
    """
    if current is not BatchStrategy.SEQUENTIAL_CHAINS:
        return current
    if failed_dependency < SHAPE_MIN_FAILED_DEPENDENCIES:
        return current
    if failed_dependency < SHAPE_FAILED_DEPENDENCY_SHARE * answered:
        return current
    return BatchStrategy.ONE_UNORDERED
