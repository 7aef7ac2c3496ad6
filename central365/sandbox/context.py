"""What every sandbox request handler shares: the store, the fault state and the counters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from central365.mailstore.store import SandboxStore
from central365.sandbox.faults import FaultInjector
from central365.sandbox.identity.service import IdentityService
from central365.sandbox.persist import StateFile
from central365.sandbox.stats import SandboxStats


@dataclass
class SandboxContext:
    """Lives on `app.state.sandbox`; tests may reach in to inspect or adjust it.

    `token` None accepts any non-empty opaque bearer token; a string accepts only that token.
    `identity` is the emulated identity platform: it signs the JWTs the Graph side verifies.
    """

    store: SandboxStore
    faults: FaultInjector = field(default_factory=FaultInjector)
    stats: SandboxStats = field(default_factory=SandboxStats)
    token: str | None = None
    identity: IdentityService = field(default_factory=IdentityService)
    #: The open state file (`--state`), saved before each answer; None keeps state in memory.
    state_file: StateFile | None = None

    #: How the sandbox waits and reads time; tests pass fakes to check service times.
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)

    _saving: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def save_writes(self) -> None:
        """Make the store's pending writes durable before an answer goes out (issue 8 #9).

        One save at a time: a request whose writes another request's save has taken waits for
        that save to commit, so it never answers before its own writes are on disk.
        """
        state_file = self.state_file
        if state_file is None:
            return
        async with self._saving:
            if self.store.pending:
                await asyncio.to_thread(state_file.save_pending, self.store)

    async def latency(self) -> None:
        """The configured network round trip of one HTTP request."""
        delay = self.faults.config.latency_ms
        if delay > 0:
            await self.sleep(delay / 1000)

    def service_timer(self) -> ServiceTimer:
        """A timer for the mailbox operations of one HTTP request, started now."""
        return ServiceTimer(self.faults.config.op_ms / 1000, self.sleep, self.monotonic)


class ServiceTimer:
    """Spends `op_ms` per mailbox operation of one request, on a schedule from its start.

    Operation k ends at `start + k * op_s`; each wait sleeps only up to that moment, so the
    small overshoot of every sleep does not add up along a 20-member chain.
    """

    def __init__(
        self,
        op_s: float,
        sleep: Callable[[float], Awaitable[None]],
        monotonic: Callable[[], float],
    ) -> None:
        self._op_s = op_s
        self._sleep = sleep
        self._monotonic = monotonic
        self._start = monotonic()
        self._done = 0

    async def one_more(self) -> None:
        """One more operation after the previous ones (a `dependsOn` chain, a plain request)."""
        self._done += 1
        await self._until(self._done)

    async def wave(self, index: int) -> None:
        """An operation of wave `index` (0-based): waves of up to 4 run side by side."""
        self._done = max(self._done, index + 1)
        await self._until(index + 1)

    async def _until(self, ops: int) -> None:
        if self._op_s <= 0:
            return
        left = self._start + ops * self._op_s - self._monotonic()
        if left > 0:
            await self._sleep(left)
