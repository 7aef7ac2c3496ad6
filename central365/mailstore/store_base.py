"""What the store's folder and contact operations need from the store itself.

`FolderOps` and `ContactOps` are mixed into `SandboxStore`; this base declares the shared
state and hooks they use, so each half type-checks on its own.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

from central365.mailstore.pending import PendingWrites
from central365.mailstore.records import MailboxState


class StoreBase(ABC):
    """Abstract: `SandboxStore` provides the hooks; the mixed-in halves only call them."""

    _lock: threading.RLock
    pending: PendingWrites
    revision: int

    @abstractmethod
    def _mailbox(self, mailbox: str) -> MailboxState:
        """The mailbox named `mailbox`, or a raised 404 `ErrorInvalidUser`."""

    @abstractmethod
    def _touch(self, box: MailboxState) -> None:
        """Note a change to the mailbox's own fields."""

    @abstractmethod
    def _now(self) -> str:
        """The current time as Graph writes it."""
