"""In-memory implementations of the ports: the test fakes and the offline demo's backend.

`InMemoryMailbox` / `InMemoryFolder` call `central365.mailstore.store.SandboxStore` directly (no
HTTP), so the fake and the sandbox share one model of Graph: the same validation (3 emails,
2 business phones, unknown properties), the same ids, changeKeys and folder rules.  A contract
suite can run the same tests against these and against `GraphFolder` pointed at the sandbox.

`InMemoryFolder(fail_on={"key": "reason"})` makes the writes of those Central keys fail with
that reason, without touching the store: the configurable failure injection the executor's
tests need (instead of monkeypatching `write`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from central365.core.errors import GraphError, SourceError
from central365.core.folder_choice import only_folder
from central365.core.mapping import ANCHOR_PROPERTY_ID, folder_contact_from_graph
from central365.core.model import (
    ALREADY_GONE,
    CentralContact,
    ContactWrite,
    FolderContact,
    FolderInfo,
    Outcome,
    RowProblem,
    WriteKind,
    WriteResult,
)
from central365.core.ports import ContactJson, FolderSnapshot, ResultCallback
from central365.graph.errors import error_from_response
from central365.mailstore.problem import GraphProblem
from central365.mailstore.store import SandboxStore


def _folder_info(data: Mapping[str, str]) -> FolderInfo:
    return FolderInfo(
        id=data["id"],
        display_name=data["displayName"],
        parent_folder_id=data.get("parentFolderId", ""),
    )


def _graph_error(problem: GraphProblem, what: str) -> GraphError:
    """The error `central365.graph.errors` raises for the same answer over HTTP (one translator)."""
    body = {"error": {"code": problem.code, "message": problem.message}}
    return error_from_response(problem.status, body, problem.headers, what=what)


class InMemoryFolder:
    """One folder of a `SandboxStore` mailbox, as a `ContactsFolder`."""

    def __init__(
        self,
        store: SandboxStore,
        mailbox: str,
        info: FolderInfo,
        *,
        fail_on: Mapping[str, str] | None = None,
    ) -> None:
        self._store = store
        self._mailbox = mailbox
        self._info = info
        self._fail_on = dict(fail_on or {})

    @property
    def info(self) -> FolderInfo:
        return self._info

    def contacts(self) -> Iterator[FolderContact]:
        """Every contact with its anchor, as `GraphFolder` reads them with `$expand` (§2.5)."""
        try:
            bodies = [
                self._with_anchor(body)
                for body in self._store.list_contacts(self._mailbox, self._info.id)
            ]
        except GraphProblem as problem:
            raise _graph_error(problem, "the contact list") from None
        for body in bodies:
            yield folder_contact_from_graph(body)

    def _with_anchor(self, body: dict[str, Any]) -> dict[str, Any]:
        """`body` with the anchor property the store keeps for it, if any."""
        stored = self._store.relationships(self._mailbox, body["id"])
        wanted = ANCHOR_PROPERTY_ID.casefold()
        props = [
            p
            for p in stored.get("singleValueExtendedProperties", [])
            if isinstance(p, dict) and str(p.get("id", "")).casefold() == wanted
        ]
        return {**body, "singleValueExtendedProperties": props} if props else body

    def find_by_email(self, email: str) -> list[FolderContact]:
        wanted = email.casefold()
        return [
            contact
            for contact in self.contacts()
            if any(e.address.casefold() == wanted for e in contact.email_addresses)
        ]

    def write(
        self, writes: Sequence[ContactWrite], on_result: ResultCallback | None = None
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
        for write in writes:
            result = self._apply(write)
            results.append(result)
            if on_result is not None:
                on_result(result)
        return results

    def _apply(self, write: ContactWrite) -> WriteResult:
        if write.key in self._fail_on:
            return WriteResult(
                write.key, Outcome.FAILED, write.contact_id, self._fail_on[write.key]
            )
        try:
            if write.kind is WriteKind.CREATE:
                created = self._store.create_contact(self._mailbox, self._info.id, dict(write.body))
                return WriteResult(
                    write.key,
                    Outcome.CREATED,
                    created["id"],
                    contact=folder_contact_from_graph(created),
                )
            if write.contact_id is None:
                return WriteResult(
                    write.key,
                    Outcome.FAILED,
                    None,
                    f"The {write.kind} has no Office 365 contact id to apply to.",
                )
            if write.kind is WriteKind.DELETE:
                return self._delete(write.key, write.contact_id)
            updated = self._store.update_contact(
                self._mailbox, write.contact_id, dict(write.body), self._info.id
            )
            return WriteResult(
                write.key,
                Outcome.UPDATED,
                write.contact_id,
                contact=folder_contact_from_graph(updated),
            )
        except GraphProblem as problem:
            error = _graph_error(problem, "the contact").message
            return WriteResult(write.key, Outcome.FAILED, write.contact_id, error)

    def _delete(self, key: str, contact_id: str) -> WriteResult:
        """Delete one contact of this folder; one already gone counts as deleted (like Graph's
        404 on DELETE, `graph.decide`)."""
        try:
            self._store.delete_contact(self._mailbox, contact_id, self._info.id)
        except GraphProblem as problem:
            if problem.status != 404:
                raise
            return WriteResult(key, Outcome.DELETED, contact_id, note=ALREADY_GONE)
        return WriteResult(key, Outcome.DELETED, contact_id)


class InMemoryMailbox:
    """A mailbox of a `SandboxStore`, as a `Mailbox`.  `fail_on` is passed to every folder."""

    def __init__(
        self, store: SandboxStore, mailbox: str, *, fail_on: Mapping[str, str] | None = None
    ) -> None:
        self._store = store
        self._mailbox = mailbox
        self._fail_on = dict(fail_on or {})

    @property
    def name(self) -> str:
        return self._mailbox

    def folders(self) -> list[FolderInfo]:
        return [_folder_info(f) for f in self._store.all_folders(self._mailbox)]

    def find_folder(self, display_name: str) -> FolderInfo | None:
        """The top-level folder with this name (case-insensitive, like Graph's `eq`)."""
        matches = [
            _folder_info(f)
            for f in self._store.list_folders(self._mailbox)
            if f["displayName"].casefold() == display_name.casefold()
        ]
        return only_folder(display_name, matches)

    def create_folder(self, display_name: str) -> FolderInfo:
        try:
            return _folder_info(self._store.create_folder(self._mailbox, display_name))
        except GraphProblem as problem:
            raise _graph_error(problem, "the new contacts folder") from None

    def folder(self, info: FolderInfo) -> InMemoryFolder:
        return InMemoryFolder(self._store, self._mailbox, info, fail_on=self._fail_on)


class InMemorySource:
    """Central records held in memory, as a `ContactSource`.

    `error` makes `read()` raise `SourceError` before yielding anything, like a source that
    cannot be opened.
    """

    def __init__(
        self,
        records: Iterable[CentralContact | RowProblem],
        *,
        description: str = "in-memory records",
        error: str | None = None,
    ) -> None:
        self._records = tuple(records)
        self._description = description
        self._error = error

    def describe(self) -> str:
        return self._description

    def read(self) -> Iterator[CentralContact | RowProblem]:
        if self._error is not None:
            raise SourceError(self._error, problems=[self._error])
        yield from self._records


class InMemoryFolderCache:
    """A `FolderCache` in a dict: the fake for the Graph folder's delta reads.

    `loads`, `replaced` and `updated` count the calls, so a test can see which path a plan took.
    """

    def __init__(self) -> None:
        self.snapshots: dict[str, FolderSnapshot] = {}
        self.loads = self.replaced = self.updated = 0

    def load(self, folder_id: str) -> FolderSnapshot | None:
        self.loads += 1
        return self.snapshots.get(folder_id)

    def replace(self, folder_id: str, snapshot: FolderSnapshot) -> None:
        self.replaced += 1
        self.snapshots[folder_id] = FolderSnapshot(snapshot.delta_link, dict(snapshot.contacts))

    def update(
        self,
        folder_id: str,
        delta_link: str,
        changed: Mapping[str, ContactJson],
        removed: Collection[str],
    ) -> None:
        self.updated += 1
        kept = self.snapshots.get(folder_id)
        contacts = dict(kept.contacts) if kept is not None else {}
        for contact_id in removed:
            contacts.pop(contact_id, None)
        contacts.update(changed)
        self.snapshots[folder_id] = FolderSnapshot(delta_link, contacts)
