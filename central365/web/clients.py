"""The identity client and the bearer-token verifier for the current settings.

The client id and credential are edited on the Settings page, so the msal-backed clients are
built from the stored `AppSettings` when first needed and rebuilt when the settings change
(their `updated_at` moves).  The tenant is not: it is fixed at start-up
(`central365.web.tenancy`), so no form can widen who may sign in.  Tests inject fixed clients
instead, which are used as given.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from central365.appdb import AppSettings, SettingsRepository
from central365.config import Settings
from central365.core.errors import ConfigError
from central365.web.bearer import AuthorityMetadata, BearerVerifier, verifier_for
from central365.web.errors import SignInRequired
from central365.web.identity import IdentityClient, MsalIdentity
from central365.wiring.connection import Credential
from central365.wiring.sign_in import msal_credential

NOT_SET_UP = (
    "Sign-in with Microsoft is not set up: the Microsoft 365 connection needs the application "
    "(client) id and a client secret or certificate, which the server's operator gives when "
    "starting central365 (an administrator can change them later on the Settings page)."
)


def tenant_of(app: AppSettings) -> str:
    """The tenant segment of the authority (`Runtime.load_app_settings` fills in the start-up
    one; `organizations` only for an allow-list of several tenants)."""
    return app.tenant_id or "organizations"


class Clients:
    """Identity client and bearer verifier for the settings in force.

    Args:
        settings: the start-up settings (authority host, CA bundle, timeout).
        repository: where the Settings page keeps the client id and credential.
        identity: a fixed identity client (tests); None builds `MsalIdentity` from settings.
        bearer: a fixed bearer verifier (tests); None builds one from the authority.
        tenant: the authority's tenant segment, from the start-up settings (`Tenancy`).
    """

    def __init__(
        self,
        settings: Settings,
        repository: SettingsRepository,
        *,
        identity: IdentityClient | None = None,
        bearer: BearerVerifier | None = None,
        tenant: str,
    ) -> None:
        self._settings = settings
        self._tenant = tenant
        self._browser_host: str | None = None
        self._repository = repository
        self._fixed_identity = identity
        self._fixed_bearer = bearer
        self._lock = threading.Lock()
        self._identity: tuple[object, IdentityClient] | None = None
        self._bearer: tuple[object, BearerVerifier] | None = None

    def identity(self, app: AppSettings) -> IdentityClient:
        """The identity client for the start-up tenant and `app`'s client id."""
        if self._fixed_identity is not None:
            return self._fixed_identity
        if not app.client_id or not (app.has_client_secret or app.has_client_certificate):
            raise ConfigError(NOT_SET_UP)
        client_id = app.client_id
        key = (self._tenant, client_id, app.updated_at)

        def build() -> IdentityClient:
            credential = Credential(
                secret=self._repository.client_secret(),
                certificate_pem=self._repository.client_certificate_pem(),
            )
            if credential.is_empty:
                raise ConfigError(NOT_SET_UP)
            return MsalIdentity(
                client_id=client_id,
                client_credential=msal_credential(credential),
                tenant=self._tenant,
                authority_host=self._settings.authority_host,
                ca_bundle=self._settings.ca_bundle,
                timeout=self._settings.timeout,
            )

        with self._lock:
            if self._identity is None or self._identity[0] != key:
                self._close_identity()
                self._identity = (key, build())
            return self._identity[1]

    def _close_identity(self) -> None:
        if self._identity is not None and isinstance(self._identity[1], MsalIdentity):
            self._identity[1].close()  # an injected identity client is its owner's to close
        self._identity = None

    def close(self) -> None:
        """Close the sign-in client's connections (the app is shutting down)."""
        with self._lock:
            self._close_identity()

    def browser_authority_host(self) -> str:
        """Where people's browsers reach the authority: its authorization endpoint's origin.

        Usually `authority_host` itself; an authority may serve its pages to browsers elsewhere
        (the sandbox does, on plain http, for a browser that does not trust its local CA), and
        the admin-consent page lives beside the sign-in page.  Read once from the authority's
        OpenID metadata; `authority_host` while it cannot be read.
        """
        fallback = self._settings.authority_host.rstrip("/")
        if self._fixed_identity is not None:
            return fallback  # tests: no authority to ask
        with self._lock:
            if self._browser_host is not None:
                return self._browser_host
        authority = f"{fallback}/{self._tenant}"
        metadata = AuthorityMetadata(authority, self._settings.ca_bundle, self._settings.timeout)
        try:
            endpoint = urlsplit(str(metadata.config().get("authorization_endpoint", "")))
        except SignInRequired:
            return fallback
        if endpoint.scheme not in ("https", "http") or not endpoint.netloc:
            return fallback
        origin = f"{endpoint.scheme}://{endpoint.netloc}"
        with self._lock:
            self._browser_host = origin
        return origin

    def bearer(self, app: AppSettings) -> BearerVerifier:
        """The verifier of API bearer tokens for the tenant's authority and `app`'s client id."""
        if self._fixed_bearer is not None:
            return self._fixed_bearer
        if not app.client_id:
            raise ConfigError(NOT_SET_UP)
        client_id = app.client_id
        authority = f"{self._settings.authority_host.rstrip('/')}/{self._tenant}"

        def build() -> BearerVerifier:
            return verifier_for(
                authority, client_id, self._settings.ca_bundle, self._settings.timeout
            )

        with self._lock:
            if self._bearer is None or self._bearer[0] != (authority, client_id):
                self._bearer = ((authority, client_id), build())
            return self._bearer[1]
