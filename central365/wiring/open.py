"""Open a `Connection`: the Central source, the Graph mailbox, the `SyncService`.

The only module that knows which concrete classes stand behind the ports.  Every front end
(command line, homepage, later a worker) opens what it runs through here, with the
`httpx.Auth` it chose (`sign_in_auth` for the command line's own sign-in modes), and closes it
by leaving the `with` block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import MappingProxyType

import httpx

from central365.core.errors import ConfigError
from central365.core.model import CentralContact, FolderInfo, RowProblem
from central365.core.ports import (
    ContactsFolder,
    ContactSource,
    FolderCache,
    Mailbox,
    RunLimited,
    RunLimits,
)
from central365.engine.plan_memo import PlanMemo
from central365.engine.service import SyncService
from central365.graph import DeviceCodeAuth, connect
from central365.graph.groups import group_users
from central365.sources import ColumnMapping, open_source
from central365.wiring.connection import Central, Connection


def open_central(central: Central) -> ContactSource:
    """The Central source described (nothing is read until the service plans)."""
    mapping = (
        ColumnMapping(renames=MappingProxyType(dict(central.mapping)))
        if central.mapping is not None
        else None
    )
    return open_source(
        central.location, table=central.table, mapping_path=central.mapping_file, mapping=mapping
    )


class BorrowedTransport(httpx.BaseTransport):
    """An injected transport each mailbox's client may use but never closes.

    `httpx.Client.close()` closes its transport; a front end opens one client per plan or run,
    while the transport it was given (the in-process sandbox) belongs to the caller and lives on.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Left to the owner of the wrapped transport."""


class LabelledMailbox:
    """A mailbox that calls itself by its address rather than Graph's `me`.

    Plans and History then say whose mailbox was written (`alice@contoso.com`), which `me`
    does not once several people use the homepage.
    """

    def __init__(self, inner: Mailbox, label: str) -> None:
        self._inner = inner
        self._label = label

    @property
    def name(self) -> str:
        return self._label

    def folders(self) -> list[FolderInfo]:
        return self._inner.folders()

    def find_folder(self, display_name: str) -> FolderInfo | None:
        return self._inner.find_folder(display_name)

    def create_folder(self, display_name: str) -> FolderInfo:
        return self._inner.create_folder(display_name)

    def folder(self, info: FolderInfo) -> ContactsFolder:
        return self._inner.folder(info)

    def limit_run(self, limits: RunLimits | None) -> None:
        """Pass a run's deadline and wait notices on (`ports.RunLimited`), e.g. to folder creation."""
        if isinstance(self._inner, RunLimited):
            self._inner.limit_run(limits)


#: Given a mailbox's identity (`mailbox_identity`), its folder cache: in the application
#: database, `appdb.FolderCacheRepository(database).for_mailbox`.
FolderCaches = Callable[[str], FolderCache]


@contextmanager
def open_mailbox(
    connection: Connection,
    auth: httpx.Auth,
    *,
    transport: httpx.BaseTransport | None = None,
    caches: FolderCaches | None = None,
) -> Iterator[Mailbox]:
    """The connection's mailbox over Graph, named by its identity (`mailbox_identity`).

    `transport` is borrowed, never closed (tests pass the in-process sandbox).  With `caches`,
    folders are read as last seen plus a delta round (keyed by the mailbox's identity, never
    Graph's `me`, which is a different mailbox for each person); without, in full.
    """
    identity = mailbox_identity(connection, auth)
    cache = caches(identity) if caches is not None else None
    with connect(
        connection.graph_url,
        connection.mailbox,
        auth,
        timeout=connection.timeout,
        verify=connection.verify,
        transport=BorrowedTransport(transport) if transport is not None else None,
        cache=cache,
    ) as mailbox:
        # Named as people name it (the signed-in person's address rather than Graph's `me`), so
        # plans, History, the journal and the lock all speak of the same mailbox.
        yield mailbox if identity == connection.mailbox else LabelledMailbox(mailbox, identity)


@contextmanager
def open_service(
    connection: Connection,
    auth: httpx.Auth,
    *,
    transport: httpx.BaseTransport | None = None,
    caches: FolderCaches | None = None,
    memo: PlanMemo | None = None,
    shared: Callable[[ContactSource], ContactSource] | None = None,
) -> Iterator[SyncService]:
    """A `SyncService` over the connection's Central source and Office 365 folder.

    `caches`: see `open_mailbox` (both fronts pass the application database's).  `memo`: the
    last plans of a long-lived front end (the homepage), handed back when nothing changed.
    `shared`: wraps the Central source (a target run's mailboxes share one read of it).

    Raises:
        ConfigError: the connection names no Central source.
    """
    if connection.central is None:
        raise ConfigError(
            "No Central source is set: give csv:PATH for a Central export or a database URL."
        )
    source = open_central(connection.central)
    if shared is not None:
        source = shared(source)
    with open_mailbox(connection, auth, transport=transport, caches=caches) as mailbox:
        yield SyncService(
            source,
            mailbox,
            connection.folder,
            run_deadline=connection.run_deadline,
            guard_thresholds=connection.guard_thresholds,
            memo=memo,
            field_policies=connection.field_policies,
            deleted_contacts=connection.deleted_contacts,
        )


class NoCentral:
    """The source of a service that writes only what the journal holds (an undo): it never
    reads Central, and says so if asked to."""

    def describe(self) -> str:
        return "no Central source (this command does not read Central)"

    def read(self) -> Iterator[CentralContact | RowProblem]:
        raise ConfigError("This command writes what the journal holds: it does not read Central.")


@contextmanager
def open_folder_service(
    connection: Connection,
    auth: httpx.Auth,
    folder_name: str,
    *,
    transport: httpx.BaseTransport | None = None,
    caches: FolderCaches | None = None,
) -> Iterator[SyncService]:
    """A `SyncService` over one folder of the connection's mailbox that does not read Central:
    for undoing a run (it writes into the folder the run wrote into, whatever is configured)."""
    with open_mailbox(connection, auth, transport=transport, caches=caches) as mailbox:
        yield SyncService(NoCentral(), mailbox, folder_name, run_deadline=connection.run_deadline)


def group_mailboxes(
    connection: Connection,
    auth: httpx.Auth,
    group_id: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> list[str]:
    """The mailboxes (UPNs) of the users among an Entra group's transitive members.

    Read over the connection's Graph, with its timeout and TLS settings; the connection's own
    mailbox is not used.
    """
    with connect(
        connection.graph_url,
        connection.mailbox,
        auth,
        timeout=connection.timeout,
        verify=connection.verify,
        transport=BorrowedTransport(transport) if transport is not None else None,
    ) as directory:
        return [user.user_principal_name for user in group_users(directory.client, group_id)]


def mailbox_identity(connection: Connection, auth: httpx.Auth) -> str:
    """The mailbox as people name it: the label, or for `me` with device sign-in the
    signed-in person's username (so a folder's run lock is the same as on the homepage)."""
    if connection.label is None and connection.mailbox == "me" and isinstance(auth, DeviceCodeAuth):
        return auth.account_username() or connection.mailbox
    return connection.mailbox_label
