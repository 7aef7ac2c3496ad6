"""What every sandbox request handler shares: the store, the fault state and the counters."""

from __future__ import annotations

import asyncio
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
        """The configured network + service time of one HTTP request."""
        delay = self.faults.config.latency_ms
        if delay > 0:
            await asyncio.sleep(delay / 1000)
