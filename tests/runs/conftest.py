"""Fixtures for the run manager: a migrated SQLite database, a sandbox store and Central records.

The Office 365 side is `InMemoryMailbox` over a `SandboxStore`; `ScriptedMailbox` wraps it so a
test can hold a run in the middle of its writes (a configurable fake, not monkeypatching).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from central365.appdb import Database, RunRepository, migrate, open_database
from central365.core.model import (
    CentralContact,
    ContactWrite,
    FolderContact,
    FolderInfo,
    WriteResult,
)
from central365.core.ports import ResultCallback
from central365.mailstore.store import SandboxStore
from central365.memory import InMemoryFolder, InMemoryMailbox

MAILBOX = "ops@contoso.test"
FOLDER = "Central Contacts"


def person(n: int) -> CentralContact:
    return CentralContact(
        key=str(n),
        status="Active",
        first_name=f"First{n}",
        last_name=f"Last{n}",
        email=f"person{n}@example.com",
    )


class Gate:
    """Holds writes after the first `after` ones until `release()`."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.reached = threading.Event()
        self.opened = threading.Event()

    def release(self) -> None:
        self.opened.set()


class ScriptedFolder:
    """A folder that writes one record at a time, can wait at a gate, and can die like a bug."""

    def __init__(self, inner: InMemoryFolder, gate: Gate | None, die_after: int | None) -> None:
        self._inner = inner
        self._gate = gate
        self._die_after = die_after

    @property
    def info(self) -> FolderInfo:
        return self._inner.info

    def contacts(self) -> Iterator[FolderContact]:
        return self._inner.contacts()

    def find_by_email(self, email: str) -> list[FolderContact]:
        return self._inner.find_by_email(email)

    def write(
        self, writes: Sequence[ContactWrite], on_result: ResultCallback | None = None
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
        for n, write in enumerate(writes):
            if n == self._die_after:
                raise RuntimeError(f"a bug after {n} writes")
            if self._gate is not None and n == self._gate.after:
                self._gate.reached.set()
                assert self._gate.opened.wait(10), "the test never opened the gate"
            results.extend(self._inner.write([write], on_result))
        return results


class ScriptedMailbox:
    """An `InMemoryMailbox` whose folders are `ScriptedFolder`s."""

    def __init__(
        self,
        store: SandboxStore,
        mailbox: str,
        *,
        gate: Gate | None = None,
        die_after: int | None = None,
        fail_on: Mapping[str, str] | None = None,
    ) -> None:
        self._inner = InMemoryMailbox(store, mailbox, fail_on=fail_on)
        self._gate = gate
        self._die_after = die_after

    @property
    def name(self) -> str:
        return self._inner.name

    def folders(self) -> list[FolderInfo]:
        return self._inner.folders()

    def find_folder(self, display_name: str) -> FolderInfo | None:
        return self._inner.find_folder(display_name)

    def create_folder(self, display_name: str) -> FolderInfo:
        return self._inner.create_folder(display_name)

    def folder(self, info: FolderInfo) -> ScriptedFolder:
        return ScriptedFolder(self._inner.folder(info), self._gate, self._die_after)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    db = open_database(url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def runs(database: Database) -> RunRepository:
    return RunRepository(database)


@pytest.fixture
def store() -> SandboxStore:
    return SandboxStore(default_mailbox=MAILBOX)
