"""Access tokens for Graph, as `httpx.Auth` classes the HTTP client carries.

- `StaticTokenAuth(token)`: a fixed bearer token (sandbox mode, or a token made elsewhere).
- `ClientCredentialsAuth`: app-only, over `msal.ConfidentialClientApplication` with a client
  secret, a certificate (`certificate_credential`) or a PFX file (`pfx_credential`), scope
  `https://graph.microsoft.com/.default` (reference §5.2, §5.3).  MSAL caches the token.
- `DeviceCodeAuth`: delegated, over `msal.PublicClientApplication`; silent from a token cache
  file first, else the device code sign-in whose message goes to an injected `show` callback.

On a 401 from Graph the MSAL classes force one fresh token and send the request once more.

Owns: MSAL applications (built lazily, on the first token: MSAL fetches the authority's
metadata when built), the token cache file (mode 0600, written only when changed).
Must not: log or put in a message a token, a secret, a private key or a passphrase; a failed
acquisition becomes `AuthFailed` carrying only MSAL's `error` and `error_description`.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from central365.core.errors import AuthFailed
from central365.graph.errors import is_token_rejected, token_error
from central365.private_files import private_folder

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
#: App-only requests must ask for `.default` (all granted application permissions).
APP_SCOPES: tuple[str, ...] = ("https://graph.microsoft.com/.default",)
#: Delegated scope for the sync; MSAL adds openid/profile/offline_access itself and refuses them.
DELEGATED_SCOPES: tuple[str, ...] = ("Contacts.ReadWrite",)

#: Microsoft's own sign-in hosts (public and national clouds); msal validates any other
#: authority host against login.microsoftonline.com, which a sandbox or an offline host fails.
MICROSOFT_AUTHORITY_HOSTS: frozenset[str] = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.microsoftonline.de",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
        "login.windows.net",
        "login.microsoft.com",
        "sts.windows.net",
    }
)


def is_microsoft_host(authority: str) -> bool:
    """Whether msal's instance discovery knows this authority's host."""
    return (urlsplit(authority).hostname or "").casefold() in MICROSOFT_AUTHORITY_HOSTS


def msal_app_options(authority_host: str, http_client: Any = None) -> dict[str, Any]:
    """Keyword arguments for an msal application on this authority host.

    `instance_discovery=False` for hosts that are not Microsoft's (the sandbox); the given
    `http_client` (e.g. `trusting_session(ca)`) for a private certificate authority.
    """
    options: dict[str, Any] = {}
    if http_client is not None:
        options["http_client"] = http_client
    if not is_microsoft_host(authority_host):
        options["instance_discovery"] = False
    return options


class _CaPinnedSession(requests.Session):
    """A requests session whose `verify` (the configured CA bundle) is not overridden.

    requests lets `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` replace a session's `verify` on every
    request; with a CA bundle configured, the authority's certificate must be checked against
    that bundle whatever the environment says (proxies from the environment still apply).
    """

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        merged: dict[str, Any] = super().merge_environment_settings(
            url, proxies, stream, verify, cert
        )
        merged["verify"] = self.verify
        return merged


def trusting_session(ca_bundle: str | Path | None) -> requests.Session:
    """A requests session for msal; with `ca_bundle`, one that trusts that bundle (and only it)."""
    if ca_bundle is None:
        return requests.Session()
    session = _CaPinnedSession()
    session.verify = str(ca_bundle)
    return session


#: A client secret, or a certificate dict (`certificate_credential` / `pfx_credential`).
ClientCredential = str | Mapping[str, str]


def certificate_credential(
    private_key_pem: str, thumbprint: str, passphrase: str | None = None
) -> dict[str, str]:
    """MSAL's certificate credential: PEM private key and the certificate's SHA-1 thumbprint."""
    credential = {"private_key": private_key_pem, "thumbprint": thumbprint}
    if passphrase:
        credential["passphrase"] = passphrase
    return credential


def certificate_thumbprint(pem: str) -> str:
    """The SHA-1 thumbprint msal wants, of the certificate in `pem` (beside its private key).

    Raises `ValueError` when `pem` holds no PEM certificate: each front end says so in its own
    words (a file to fix, or a Settings field to fill again).
    """
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except UnicodeEncodeError:
        raise ValueError("the PEM text is not ASCII") from None
    return certificate.fingerprint(hashes.SHA1()).hex().upper()


def pfx_credential(pfx_path: str | Path, passphrase: str | None = None) -> dict[str, str]:
    """MSAL's PFX credential (MSAL ≥ 1.29): the path of a .pfx file and its passphrase."""
    credential = {"private_key_pfx_path": str(pfx_path)}
    if passphrase:
        credential["passphrase"] = passphrase
    return credential


class ConfidentialApp(Protocol):
    """The part of `msal.ConfidentialClientApplication` used here (a fake in tests)."""

    def acquire_token_for_client(self, scopes: list[str]) -> Mapping[str, Any]: ...

    def remove_tokens_for_client(self) -> None: ...


class PublicApp(Protocol):
    """The part of `msal.PublicClientApplication` used here (a fake in tests)."""

    def get_accounts(self, username: str | None = None) -> Sequence[Mapping[str, Any]]: ...

    def acquire_token_silent(
        self, scopes: list[str], account: Mapping[str, Any] | None, force_refresh: bool = False
    ) -> Mapping[str, Any] | None: ...

    def initiate_device_flow(self, scopes: list[str]) -> Mapping[str, Any]: ...

    def acquire_token_by_device_flow(self, flow: Mapping[str, Any]) -> Mapping[str, Any]: ...


class StaticTokenAuth(httpx.Auth):
    """Send a fixed bearer token (the sandbox accepts any non-empty one)."""

    def __init__(self, token: str) -> None:
        if not token.strip():
            raise ValueError("the static token is empty")
        self._header = f"Bearer {token.strip()}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "StaticTokenAuth(token=***)"


class TokenProviderAuth(httpx.Auth):
    """Bearer token from a provider; on a 401, one forced refresh and one resend.

    The one "attach the token, retry once when it is refused" flow, for the command line's msal
    sign-ins below and the homepage's per-person and app-only tokens alike.
    `provide(force_refresh)` returns an access token (and keeps any refreshed cache itself).
    """

    def __init__(self, provide: Callable[[bool], str]) -> None:
        self._provide = provide
        self._provide_lock = threading.Lock()

    def _bearer(self, force_refresh: bool) -> str:
        with self._provide_lock:  # a folder's workers share one token, refreshed once
            return f"Bearer {self._provide(force_refresh)}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._bearer(False)
        response = yield request
        if is_token_rejected(response.status_code):
            request.headers["Authorization"] = self._bearer(True)
            yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token=***)"


class _MsalAuth(TokenProviderAuth, ABC):
    """Bearer token from MSAL (see `TokenProviderAuth` for the 401 rule)."""

    _action = "MSAL"

    def __init__(self) -> None:
        super().__init__(lambda force: self.token(force_refresh=force))
        self._lock = threading.Lock()

    def token(self, *, force_refresh: bool = False) -> str:
        """A valid access token (cached by MSAL); raises `AuthFailed` when none can be had."""
        with self._lock:  # one acquisition at a time, whatever the number of workers
            try:
                result = self._acquire(force_refresh)
            except AuthFailed:
                raise
            except Exception as exc:  # MSAL raises ValueError, network errors, ...
                raise AuthFailed(
                    f"Could not get a token from Microsoft Entra ID by {self._action} "
                    f"({type(exc).__name__}); check the tenant id, client id, credential "
                    "and the network to the authority host."
                ) from exc
        token = result.get("access_token") if isinstance(result, Mapping) else None
        if not isinstance(token, str) or not token:
            raise token_error(result if isinstance(result, Mapping) else {}, action=self._action)
        return token

    @abstractmethod
    def _acquire(self, force_refresh: bool) -> Mapping[str, Any]:
        """One acquisition through msal (cache first); the subclass's sign-in flow."""


class ClientCredentialsAuth(_MsalAuth):
    """App-only tokens for a tenant (needs admin-consented Contacts.ReadWrite; `/users/{id}`).

    Args:
        tenant_id: the directory (tenant) id or domain.
        client_id: the app registration's application id.
        credential: a secret string, `certificate_credential(...)` or `pfx_credential(...)`.
        authority_host: `https://login.microsoftonline.com` or a national cloud's host.
        app_factory: builds the MSAL application (tests pass a fake); default the real one.
        http_client: a requests-compatible client MSAL should use (proxies, tests).
    """

    _action = "client credentials"

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        credential: ClientCredential,
        *,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        app_factory: Callable[[], ConfidentialApp] | None = None,
        http_client: Any = None,
    ) -> None:
        super().__init__()
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self.client_id = client_id
        self._credential = credential
        self._http_client = http_client
        self._factory = app_factory or self._real_app
        self._app: ConfidentialApp | None = None

    def _real_app(self) -> ConfidentialApp:
        options = msal_app_options(self.authority, self._http_client)
        credential = (
            self._credential if isinstance(self._credential, str) else dict(self._credential)
        )
        app: ConfidentialApp = msal.ConfidentialClientApplication(
            self.client_id, authority=self.authority, client_credential=credential, **options
        )
        return app

    def _acquire(self, force_refresh: bool) -> Mapping[str, Any]:
        if self._app is None:
            self._app = self._factory()
        if force_refresh:
            self._app.remove_tokens_for_client()
        return self._app.acquire_token_for_client(scopes=list(APP_SCOPES))

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth(authority={self.authority!r}, client_id={self.client_id!r})"


class DeviceCodeAuth(_MsalAuth):
    """Delegated tokens for a signed-in user, cached in a file between runs.

    Args:
        tenant_id: tenant id or domain (`organizations` for any work account).
        client_id: a public client app registration ("Allow public client flows").
        cache_path: token cache file (created 0600), or None for memory only.
        show: receives MSAL's "go to ... and enter the code ..." message.
        scopes: delegated scopes; `Contacts.ReadWrite.Shared` for another user's mailbox.
        username: pick this cached account when several are cached.
        authority_host, http_client, app_factory: as for `ClientCredentialsAuth`
            (`app_factory` receives the token cache).
    """

    _action = "device code sign-in"

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        cache_path: str | Path | None,
        *,
        show: Callable[[str], None],
        scopes: Sequence[str] = DELEGATED_SCOPES,
        username: str | None = None,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        app_factory: Callable[[Any], PublicApp] | None = None,
        http_client: Any = None,
    ) -> None:
        super().__init__()
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self.client_id = client_id
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self._show = show
        self._scopes = list(scopes)
        self._username = username
        self._http_client = http_client
        self._factory = app_factory or self._real_app
        self._app: PublicApp | None = None
        self._cache: Any = None

    def _real_app(self, cache: Any) -> PublicApp:
        options = msal_app_options(self.authority, self._http_client)
        options["token_cache"] = cache
        app: PublicApp = msal.PublicClientApplication(
            self.client_id, authority=self.authority, **options
        )
        return app

    def sign_in(self) -> None:
        """Get a token now (silently or by device code), e.g. before a long sync starts."""
        self.token()

    def account_username(self) -> str | None:
        """The signed-in person's username (UPN), signing in first if needed.

        What Graph's `me` stands for, in the words the homepage uses for the same mailbox: the
        run lock of a folder of `me` is then the lock of that person's mailbox in both.
        """
        self.sign_in()
        assert self._app is not None
        accounts = self._app.get_accounts(username=self._username)
        name = accounts[0].get("username") if accounts else None
        return str(name) if name else None

    def _acquire(self, force_refresh: bool) -> Mapping[str, Any]:
        if self._app is None:
            self._cache = msal.SerializableTokenCache()
            if self.cache_path is not None and self.cache_path.exists():
                self._cache.deserialize(self.cache_path.read_text(encoding="utf-8"))
            self._app = self._factory(self._cache)
        app = self._app
        result: Mapping[str, Any] | None = None
        accounts = app.get_accounts(username=self._username)
        if accounts:
            result = app.acquire_token_silent(
                self._scopes, account=accounts[0], force_refresh=force_refresh
            )
        if not result or "access_token" not in result:
            flow = app.initiate_device_flow(scopes=self._scopes)
            if "user_code" not in flow:
                raise token_error(flow, action="starting the device code sign-in")
            self._show(str(flow.get("message", "")))
            result = app.acquire_token_by_device_flow(flow)
        self._save()
        return result

    def _save(self) -> None:
        """Write the cache file (0600, atomically) when MSAL changed it."""
        if self.cache_path is None or not getattr(self._cache, "has_state_changed", False):
            return
        private_folder(self.cache_path.parent)
        temporary = self.cache_path.with_name(self.cache_path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self._cache.serialize())
        os.replace(temporary, self.cache_path)

    def __repr__(self) -> str:
        return f"DeviceCodeAuth(authority={self.authority!r}, client_id={self.client_id!r})"
