"""The homepage's connections: the stored settings and the signed-in person's tokens.

Which folder of which mailbox a person plans (`Target`, `target_of`) and how stored settings
become a `Connection` are `central365.wiring.settings`' (a worker needs them too); what is the
homepage's own is here: the person's or the app's token from the identity client, and the
check of the stored Central source against the server's `SourcePolicy` at every use.
Whether the person may act on the target at all is `central365.web.roles`' question, asked by
`actions`.

Must not: keep a token anywhere but in msal's cache, which goes back to `UserRepository`
(encrypted) as soon as msal changed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import httpx

from central365.appdb import AppSettings, AuthChoice, User, UserRepository
from central365.config import Settings
from central365.core.errors import ConfigError
from central365.core.ports import Mailbox
from central365.engine.plan_memo import PlanMemo
from central365.engine.service import SyncService
from central365.graph.auth import TokenProviderAuth
from central365.web.clients import Clients
from central365.web.errors import SignInRequired
from central365.web.identity import AccessToken
from central365.web.source_policy import Refused, SourcePolicy
from central365.wiring.open import FolderCaches, open_folder_service, open_mailbox, open_service
from central365.wiring.settings import connection_from_app, target_of


class Connector:
    """Open mailboxes and services for a person under the stored settings.

    Args:
        settings: start-up settings (Graph URL, CA bundle, timeout).
        clients: the identity client for the current settings.
        users: where each person's msal token cache is kept, encrypted.
        graph_transport: an httpx transport for Graph (tests: the in-process sandbox).
        caches: the application database's folder caches, so plans read only what changed.
        memo: the last plan of each folder, handed back when Central and the folder are as
            they were (a refresh with nothing changed does not plan 100,000 records again).
    """

    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        users: UserRepository,
        graph_transport: httpx.BaseTransport | None = None,
        caches: FolderCaches | None = None,
        memo: PlanMemo | None = None,
    ) -> None:
        self._settings = settings
        self._clients = clients
        self._users = users
        self._transport = graph_transport
        self._caches = caches
        self._memo = memo

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
        connection = connection_from_app(self._settings, app, target_of(app, user))
        with open_mailbox(connection, self._auth(user, app), transport=self._transport) as box:
            yield box

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
        connection = connection_from_app(self._settings, app, target_of(app, user))
        with open_service(
            connection,
            self._auth(user, app),
            transport=self._transport,
            caches=self._caches,
            memo=self._memo,
        ) as service:
            yield service

    def service_factory(
        self, user: User, app: AppSettings
    ) -> Callable[[], AbstractContextManager[SyncService]]:
        """What a run (in its own thread) or a replan calls to open the service."""
        return lambda: self.service(user, app)

    @contextmanager
    def undo_service(self, user: User, app: AppSettings) -> Iterator[SyncService]:
        """A service over the person's target folder that does not read Central: an undo
        writes what the journal holds."""
        target = target_of(app, user)
        connection = connection_from_app(self._settings, app, target)
        with open_folder_service(
            connection,
            self._auth(user, app),
            target.folder_name,
            transport=self._transport,
            caches=self._caches,
        ) as service:
            yield service

    def undo_service_factory(
        self, user: User, app: AppSettings
    ) -> Callable[[], AbstractContextManager[SyncService]]:
        """What an undo run (in its own thread) calls to open its service."""
        return lambda: self.undo_service(user, app)
