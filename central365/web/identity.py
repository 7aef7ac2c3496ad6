"""Sign-in with the Microsoft identity platform, and Graph tokens for a person or for the app.

`IdentityClient` is the seam the web app sees; `MsalIdentity` is the one implementation that
runs against Microsoft (or the sandbox's emulation of it) through msal's
`ConfidentialClientApplication`:

- sign-in is the OpenID Connect authorization-code flow with PKCE
  (`initiate_auth_code_flow` / `acquire_token_by_auth_code_flow`); the flow dict lives in the
  server-side session between the redirect and the callback;
- a person's msal token cache is handed in and out as serialized JSON: the caller keeps it
  encrypted in the application database (`appdb.UserRepository`) and it never reaches a browser;
- app-only tokens (client credentials) are cached in memory by one long-lived msal app.

Must not: log, return in a message or store anything but the serialized cache (which the caller
encrypts) — no access token, refresh token, secret or key is ever put in an error.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
import msal

from central365.core.errors import AuthFailed
from central365.graph.auth import (
    APP_SCOPES,
    ClientCredential,
    msal_app_options,
    trusting_session,
)
from central365.web.errors import SignInRequired
from central365.wiring.connection import AUTHORITY_HOST

#: What the sync needs from a signed-in person; msal adds openid, profile and offline_access.
DELEGATED_SCOPES: tuple[str, ...] = ("Contacts.ReadWrite", "User.Read")
#: The sign-in scopes msal asks for on its own (shown on the Scopes panel, never requested).
OIDC_SCOPES: tuple[str, ...] = ("openid", "profile", "offline_access")
#: The application permission app-only mode needs (granted by an administrator).
APP_ROLES: tuple[str, ...] = ("Contacts.ReadWrite",)


@dataclass(frozen=True, slots=True)
class SignInStart:
    """Where to send the browser, and the flow to keep (server-side) until it comes back."""

    auth_uri: str
    flow: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who signed in, what was granted, and their msal token cache to store encrypted."""

    oid: str
    tenant_id: str
    name: str
    username: str
    granted: frozenset[str]
    token_cache: str
    #: The app roles assigned to the person (the ID token's `roles` claim).
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A Graph access token; `token_cache` is the changed cache to save, None when unchanged."""

    token: str
    granted: frozenset[str]
    token_cache: str | None = None

    def __repr__(self) -> str:
        return f"AccessToken(token=***, granted={sorted(self.granted)!r})"


class IdentityClient(Protocol):
    """Sign-in and tokens.  Tests pass a configurable fake; production passes `MsalIdentity`."""

    def begin_sign_in(self, redirect_uri: str) -> SignInStart:
        """Start the authorization-code flow (PKCE, state and nonce are in the flow)."""
        ...

    def complete_sign_in(self, flow: Mapping[str, Any], response: Mapping[str, str]) -> SignedIn:
        """Redeem the code the authority sent back; raises `AuthFailed` on any mismatch."""
        ...

    def user_token(
        self, token_cache: str, username: str, *, force_refresh: bool = False
    ) -> AccessToken:
        """A delegated token from the person's cache; raises `SignInRequired` when none."""
        ...

    def app_token(self, *, force_refresh: bool = False) -> AccessToken:
        """An app-only token (client credentials); raises `AuthFailed` when refused."""
        ...


def granted_scopes(result: Mapping[str, Any]) -> frozenset[str]:
    """What a token result grants: msal's `scope`, else the token's `scp`/`roles` claims.

    The claims are decoded without verification, for display on the Scopes panel only: the
    token came straight from the authority over TLS and is never trusted for anything here.
    """
    scope = result.get("scope")
    if isinstance(scope, str) and scope.strip():
        return frozenset(scope.split())
    token = result.get("access_token")
    if not isinstance(token, str):
        return frozenset()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return frozenset()  # an opaque token (personal accounts): nothing to show
    found: set[str] = set(str(claims.get("scp", "")).split())
    roles = claims.get("roles")
    if isinstance(roles, list):
        found.update(str(r) for r in roles)
    return frozenset(found)


def claimed_roles(claims: Mapping[str, Any]) -> frozenset[str]:
    """The `roles` claim of a verified token (a list of strings; anything else is none)."""
    roles = claims.get("roles")
    if not isinstance(roles, list):
        return frozenset()
    return frozenset(str(r) for r in roles if isinstance(r, str))


def _failure(result: Mapping[str, Any], action: str) -> AuthFailed:
    """msal's error and description only: they never carry a token or a secret."""
    code = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or "").split("\r\n")[0].strip()
    detail = f": {description}" if description else ""
    return AuthFailed(f"Microsoft sign-in failed while {action} ({code}){detail}", code=code)


class MsalIdentity:
    """`IdentityClient` over msal's `ConfidentialClientApplication` (the web app is confidential).

    Args:
        client_id: the app registration's application (client) id.
        client_credential: the client secret, or msal's certificate dict
            (`central365.graph.auth.certificate_credential`).
        tenant: the tenant id (the homepage never uses `organizations` for one tenant:
            `central365.web.tenancy`).
        authority_host: `https://login.microsoftonline.com`, a national cloud, or the sandbox.
        ca_bundle: CA certificates to trust for the authority (the sandbox's local CA).
        scopes: the delegated scopes asked for at sign-in and for every token.
        timeout: seconds for each call to the authority.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_credential: ClientCredential,
        tenant: str,
        authority_host: str = AUTHORITY_HOST,
        ca_bundle: Path | None = None,
        scopes: Sequence[str] = DELEGATED_SCOPES,
        timeout: float = 30.0,
    ) -> None:
        self.client_id = client_id
        self.authority = f"{authority_host.rstrip('/')}/{tenant}"
        self._credential = (
            client_credential if isinstance(client_credential, str) else dict(client_credential)
        )
        self._ca_bundle = ca_bundle
        self._scopes = list(scopes)
        self._timeout = timeout
        # One HTTP session (closed by `close`) and one metadata cache for every msal app built
        # here, so connections are reused and the authority's metadata is fetched once.
        self._session = trusting_session(ca_bundle)
        self._options = msal_app_options(self.authority, self._session)
        self._http_cache: dict[Any, Any] = {}
        self._lock = threading.Lock()
        self._app_only: msal.ConfidentialClientApplication | None = None

    def close(self) -> None:
        """Close the HTTP connections to the authority (the app is shutting down)."""
        self._session.close()

    def _app(self, cache: msal.TokenCache | None = None) -> msal.ConfidentialClientApplication:
        try:
            return msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self._credential,
                authority=self.authority,
                token_cache=cache,
                http_cache=self._http_cache,
                timeout=self._timeout,
                **self._options,
            )
        except Exception as exc:  # msal raises ValueError and requests' errors while discovering
            raise AuthFailed(
                f"The Microsoft identity platform at {self.authority} could not be reached or "
                f"used ({type(exc).__name__}): check the tenant, the client id and the network."
            ) from None

    def begin_sign_in(self, redirect_uri: str) -> SignInStart:
        app = self._app()
        with warnings.catch_warnings():
            # msal recommends response_mode=form_post; that answer is a cross-site POST, which
            # a SameSite=Lax session cookie does not accompany, so the flow kept in the session
            # could not be found.  The query mode stays safe here: the code is single-use and
            # bound to this flow's PKCE verifier, state and nonce, all held server-side.
            warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
            flow = app.initiate_auth_code_flow(
                self._scopes, redirect_uri=redirect_uri, response_mode="query"
            )
        if "auth_uri" not in flow:
            raise _failure(flow, "starting the sign-in")
        return SignInStart(auth_uri=str(flow["auth_uri"]), flow=flow)

    def complete_sign_in(self, flow: Mapping[str, Any], response: Mapping[str, str]) -> SignedIn:
        cache = msal.SerializableTokenCache()
        app = self._app(cache)
        try:
            result = app.acquire_token_by_auth_code_flow(dict(flow), dict(response))
        except ValueError:
            # msal raises ValueError when `state` does not match: a stale or forged callback.
            raise AuthFailed(
                "The sign-in answer does not belong to this sign-in; please sign in again."
            ) from None
        if "error" in result or "id_token_claims" not in result:
            raise _failure(result, "completing the sign-in")
        claims: Mapping[str, Any] = result["id_token_claims"]
        username = str(claims.get("preferred_username") or claims.get("upn") or "")
        return SignedIn(
            oid=str(claims.get("oid") or claims.get("sub") or ""),
            tenant_id=str(claims.get("tid") or ""),
            name=str(claims.get("name") or username),
            username=username,
            granted=granted_scopes(result),
            token_cache=cache.serialize(),
            roles=claimed_roles(claims),
        )

    def user_token(
        self, token_cache: str, username: str, *, force_refresh: bool = False
    ) -> AccessToken:
        cache = msal.SerializableTokenCache()
        cache.deserialize(token_cache)
        app = self._app(cache)
        accounts = app.get_accounts(username=username) or app.get_accounts()
        result = None
        if accounts:
            result = app.acquire_token_silent_with_error(
                self._scopes, account=accounts[0], force_refresh=force_refresh
            )
        if not result or "access_token" not in result:
            raise SignInRequired(
                "Your Microsoft sign-in has expired or was revoked: please sign in again."
            )
        changed = cache.serialize() if cache.has_state_changed else None
        return AccessToken(str(result["access_token"]), granted_scopes(result), changed)

    def app_token(self, *, force_refresh: bool = False) -> AccessToken:
        with self._lock:  # one client-credentials app and one acquisition at a time
            if self._app_only is None:
                self._app_only = self._app(msal.TokenCache())
            if force_refresh:
                self._app_only.remove_tokens_for_client()
            result = self._app_only.acquire_token_for_client(scopes=list(APP_SCOPES))
        if "access_token" not in result:
            raise _failure(result, "getting an app-only token")
        return AccessToken(str(result["access_token"]), granted_scopes(result))

    def __repr__(self) -> str:
        return f"MsalIdentity(authority={self.authority!r}, client_id={self.client_id!r})"
