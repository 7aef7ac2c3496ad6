"""The two seams the service sees: where Central records come from, and the Office 365 side.

Each port has an in-memory implementation (`central365.memory`) that is also the test fake, and
a real adapter (`central365.sources`, `central365.graph`).  One contract suite runs against both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from central365.model import (
    CentralContact,
    ContactWrite,
    FolderContact,
    FolderInfo,
    RowProblem,
    WriteResult,
)

#: Called once per record as soon as its write has ended (for progress bars and live pages).
ResultCallback = Callable[[WriteResult], None]


class ContactSource(Protocol):
    """Central's contacts.

    `read()` raises `SourceError` (listing every problem) before yielding anything when the
    source cannot be used at all, and yields a `RowProblem` for a single unreadable row.
    """

    def describe(self) -> str:
        """Where the records come from, safe to print (no passwords)."""
        ...

    def read(self) -> Iterator[CentralContact | RowProblem]: ...


class ContactsFolder(Protocol):
    """One contacts folder of one mailbox."""

    @property
    def info(self) -> FolderInfo: ...

    def contacts(self) -> Iterator[FolderContact]:
        """Every contact of this folder (never of another folder)."""
        ...

    def find_by_email(self, email: str) -> list[FolderContact]:
        """The contacts of this folder that carry `email` (any case) in `emailAddresses`."""
        ...

    def write(
        self, writes: Sequence[ContactWrite], on_result: ResultCallback | None = None
    ) -> list[WriteResult]:
        """Apply every write; one result per write, whatever fails.  Never raises for one record."""
        ...


class Mailbox(Protocol):
    """The Office 365 mailbox that holds the target folder."""

    @property
    def name(self) -> str:
        """The mailbox as configured (`me`, a UPN or an id)."""
        ...

    def folders(self) -> list[FolderInfo]:
        """Every contacts folder of the mailbox, child folders included."""
        ...

    def find_folder(self, display_name: str) -> FolderInfo | None:
        """The folder with this display name; raises `Conflict` when two share it."""
        ...

    def create_folder(self, display_name: str) -> FolderInfo: ...

    def folder(self, info: FolderInfo) -> ContactsFolder: ...
