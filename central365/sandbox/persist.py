"""Keep the sandbox's state in a JSON file across restarts (`--state FILE`).

The store is saved atomically (see `SandboxStore.save`) shortly after each write, by a flusher
task that polls the store's revision, and once more when the server shuts down.  Polling keeps
writes off the request path: a request never waits for a disk.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from central365.sandbox.store import SandboxStore

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.2


class StatePersister:
    def __init__(
        self, store: SandboxStore, path: Path, interval_s: float = FLUSH_INTERVAL_S
    ) -> None:
        self.store = store
        self.path = path
        self.interval_s = interval_s
        self._saved_revision: int | None = None

    def load_if_present(self) -> bool:
        """Load the file into the store if it exists; True when something was loaded."""
        if not self.path.exists():
            return False
        self.store.load(self.path)
        self._saved_revision = self.store.revision
        return True

    def flush(self) -> bool:
        """Save if the store changed since the last save; True when a save happened."""
        revision = self.store.revision
        if revision == self._saved_revision:
            return False
        self.store.save(self.path)
        self._saved_revision = revision
        return True

    async def run(self) -> None:
        """Flush every `interval_s` until cancelled; a failed save is logged and retried."""
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await asyncio.to_thread(self.flush)
            except OSError:
                log.exception("could not save the sandbox state to %s", self.path)
