"""Pacing one mailbox's request budget: after Graph showed the budget once, stay under it.

Outlook counts the requests of an app against one mailbox in a sliding window: 10,000 per
10 minutes, `$batch` members one each (reference §4.1, §3).  A client that keeps sending into
the 429s loses its answers and, as Graph warns, its throttled calls still count (§4.2); one
that waits a whole window after each 429 loses time.  So the first budget 429 teaches the
budget, and from then on every send waits, if need be, until the window has room for it:
the units leave the window in the rhythm they entered it.

Learning, at a 429 with Retry-After r heard at time t.  The mailbox takes requests again at
t + r, when the oldest unit of its window leaves; that unit was sent at t + r - W.

- the window W: known once learnt; before that, the oldest unit the mailbox counts is taken to
  be the oldest this client sent (the run began on an empty window), so W = t + r - (its time),
  at most Outlook's 600 s.  If another client spent budget before us, W and B come out low,
  which paces more slowly than needed, never faster; a later 429 learns B again.
- the budget B: the units this client sent in [t + r - W, t] (refused units are refunded
  first, as the mailbox did not count them).

Not every 429 is the budget: a concurrency or transient 429 asks for about a second.  A
Retry-After under `MIN_LEARN_S`, or a budget under one batch (`MIN_BUDGET`), teaches nothing.
Were a 429 mistaken for the budget anyway, the pace learnt is the pace the run already had
(B / W is what was sent over the time until the 429's end), so the harm is bounded.

Must not: sleep, send, or read a clock; the client passes `now` (its clock's monotonic
seconds) and waits until the moment `reserve` returns.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

#: Outlook's window (reference §4.1): nothing is counted longer, so the log keeps no more.
MAX_WINDOW_S = 600.0
#: Retry-Afters shorter than this are concurrency or transient 429s, not the budget.
MIN_LEARN_S = 2.0
#: A "budget" below one full batch is not one (it would stop a batch of 20 forever).
MIN_BUDGET = 20


@dataclass(frozen=True, slots=True)
class Budget:
    """What the mailbox showed: `units` per `window_s` seconds."""

    units: int
    window_s: float


@dataclass(slots=True)
class _Sent:
    at: float
    units: int


class Pacer:
    """The units one client sent to one mailbox, and when the next ones may go."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: deque[_Sent] = deque()
        self.budget: Budget | None = None

    def reserve(self, units: int, now: float) -> float:
        """The moment `units` more may be sent (never before `now`); they are logged then.

        Without a learnt budget that is `now`.  A send larger than the whole budget waits for
        an empty window (it cannot do better).
        """
        units = max(0, units)
        with self._lock:
            self._trim(now)
            at = max(now, self._log[-1].at if self._log else now)
            if self.budget is not None and units:
                at = max(at, self._room_at(min(units, self.budget.units), self.budget))
            self._log.append(_Sent(at, units))
            return at

    def refund(self, units: int) -> None:
        """Units sent but not counted by the mailbox (refused, or never sent): the newest go."""
        with self._lock:
            left = max(0, units)
            for sent in reversed(self._log):
                if left == 0:
                    break
                taken = min(left, sent.units)
                sent.units -= taken
                left -= taken

    def learn(self, now: float, retry_after: float) -> Budget | None:
        """Learn the budget from a 429 heard at `now` with `retry_after` seconds (module
        docstring); returns the budget now in force, or None when it taught nothing."""
        if retry_after < MIN_LEARN_S:
            return self.budget
        until = now + retry_after
        with self._lock:
            sent = [s for s in self._log if s.at <= now and s.units]
            if not sent:
                return self.budget
            window = (
                self.budget.window_s
                if self.budget is not None
                else min(MAX_WINDOW_S, until - sent[0].at)
            )
            units = sum(s.units for s in sent if s.at >= until - window)
            if units >= MIN_BUDGET:
                self.budget = Budget(units, window)
            return self.budget

    def _trim(self, now: float) -> None:
        """Drop what no window can still count."""
        horizon = now - (self.budget.window_s if self.budget is not None else MAX_WINDOW_S)
        while self._log and self._log[0].at <= horizon:
            self._log.popleft()

    def _room_at(self, units: int, budget: Budget) -> float:
        """The first moment the window holds at most `budget.units - units` logged units."""
        total = sum(s.units for s in self._log)
        left_at = -math.inf
        for sent in self._log:
            if total + units <= budget.units:
                break
            total -= sent.units
            left_at = sent.at + budget.window_s
        return left_at
