"""From the stored settings and the signed-in person to a `SyncService`: source, mailbox, folder.

A *target* is one folder of one mailbox: in delegated mode the signed-in person's own mailbox
(Graph's `/me`, with their token — never another, whatever is stored), in app-only mode the
configured shared or service mailbox (`/users/{mailbox}`, with the app's token).  Whether the
person may act on it at all is `central365.web.roles`' question, asked by `actions`.  Its `key` (mailbox identity + folder name,
case-folded) names the cached plan and is the run lock, so two people planning the same shared
folder share one plan and can never run into it at once.

Must not: keep a token anywhere but in msal's cache, which goes back to `UserRepository`
(encrypted) as soon as msal changed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from types import MappingProxyType

import httpx

from central365.appdb import AppSettings, AuthChoice, User, UserRepository, run_lock_key
from central365.config import Settings
from central365.core.errors import ConfigError
from central365.core.guards import GuardThresholds
from central365.core.model import FolderInfo
from central365.core.ports import ContactsFolder, ContactSource, Mailbox, RunLimited, RunLimits
from central365.engine.service import SyncService
from central365.graph import connect
from central365.graph.auth import TokenProviderAuth
from central365.sources import ColumnMapping, open_source
from central365.web.clients import Clients
from central365.web.errors import SignInRequired
from central365.web.identity import AccessToken
from central365.web.source_policy import Refused, SourcePolicy


@dataclass(frozen=True, slots=True)
class Target:
    """One contacts folder of one mailbox."""

    graph_mailbox: str  # what Graph's path wants: "me", or the mailbox's UPN or id
    label: str  # what people see and History records: the mailbox's address
    folder_name: str

    @property
    def key(self) -> str:
        """The plan cache key and the run lock (appdb's `run_lock_key`)."""
        return run_lock_key(self.label, self.folder_name)


def target_of(app: AppSettings, user: User) -> Target:
    """The folder the homepage plans for this person under these settings."""
    if app.auth_mode is AuthChoice.APP_ONLY:
        if not app.target_mailbox:
            raise ConfigError(
                "App-only mode needs a target mailbox: set it on the Settings page "
                "(the shared or service mailbox's address)."
            )
        return Target(app.target_mailbox, app.target_mailbox, app.folder_name)
    # Delegated: always the person's own mailbox, whatever mailbox is stored (that one is for
    # app-only mode): a person's token never writes into someone else's mailbox from here.
    return Target("me", user.username or user.name, app.folder_name)


def guard_thresholds(app: AppSettings, settings: Settings) -> GuardThresholds:
    """The thresholds in force: the Settings page's when it set them, else the start-up ones."""
    return app.guard_thresholds or settings.guard_thresholds


def central_source(app: AppSettings) -> ContactSource:
    mapping = ColumnMapping(renames=MappingProxyType(dict(app.column_mapping)))
    return open_source(app.central_url, table=app.central_table or "contacts", mapping=mapping)


class BorrowedTransport(httpx.BaseTransport):
    """An injected transport each mailbox's client may use but never closes.

    `httpx.Client.close()` closes its transport; the app opens one client per plan or run, while
    the transport it was given (the in-process sandbox) belongs to the caller and lives on.
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


class Connector:
    """Open mailboxes and services for a person under the stored settings.

    Args:
        settings: start-up settings (Graph URL, CA bundle, timeout).
        clients: the identity client for the current settings.
        users: where each person's msal token cache is kept, encrypted.
        graph_transport: an httpx transport for Graph (tests: the in-process sandbox).
    """

    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        users: UserRepository,
        graph_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._clients = clients
        self._users = users
        self._transport = BorrowedTransport(graph_transport) if graph_transport else None

    def token(self, user: User, app: AppSettings, *, force_refresh: bool = False) -> AccessToken:
        """A Graph token: the app's in app-only mode, else the person's (cache saved back)."""
        identity = self._clients.identity(app)
        if app.auth_mode is AuthChoice.APP_ONLY:
            return identity.app_token(force_refresh=force_refresh)
        cache = self._users.load_token_cache(user.id)
        if cache is None:
            raise SignInRequired(
                "central365 holds no Microsoft sign-in for you yet: sign in to the homepage "
                "once, then try again."
            )
        token = identity.user_token(cache, user.username, force_refresh=force_refresh)
        if token.token_cache is not None:
            self._users.save_token_cache(user.id, token.token_cache)
        return token

    def _auth(self, user: User, app: AppSettings) -> TokenProviderAuth:
        return TokenProviderAuth(lambda force: self.token(user, app, force_refresh=force).token)

    @contextmanager
    def mailbox(self, user: User, app: AppSettings) -> Iterator[Mailbox]:
        target = target_of(app, user)
        verify: bool | str = str(self._settings.ca_bundle) if self._settings.ca_bundle else True
        with connect(
            self._settings.graph_url,
            target.graph_mailbox,
            self._auth(user, app),
            timeout=self._settings.timeout,
            verify=verify,
            transport=self._transport,
        ) as mailbox:
            yield LabelledMailbox(mailbox, target.label)

    @contextmanager
    def service(self, user: User, app: AppSettings) -> Iterator[SyncService]:
        # Checked again at every use, not only when saved: a value stored by an older version,
        # or an import file swapped for a symlink since, must not be read either.
        verdict = SourcePolicy.of(self._settings).check(app.central_url, app.central_url)
        if isinstance(verdict, Refused):
            raise ConfigError(
                f"The Central source in Settings cannot be used: {verdict.problem} "
                "An administrator can choose another on the Settings page."
            )
        source = central_source(app)
        with self.mailbox(user, app) as mailbox:
            yield SyncService(
                source,
                mailbox,
                app.folder_name,
                run_deadline=self._settings.run_deadline,
                guard_thresholds=guard_thresholds(app, self._settings),
            )

    def service_factory(
        self, user: User, app: AppSettings
    ) -> Callable[[], AbstractContextManager[SyncService]]:
        """What a run (in its own thread) or a replan calls to open the service."""
        return lambda: self.service(user, app)
