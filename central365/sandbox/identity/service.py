"""`IdentityService`: the sandbox's Microsoft identity platform, independent of HTTP.

Owns the directory (`IdentityConfig`, swappable at run time), the signing key (made lazily),
the one-time authorization codes and the device-code sign-ins in flight, and the rules of the
endpoints msal talks to: tenant resolution, and the four grants (authorization_code with PKCE,
refresh_token, client_credentials, device_code).  The rules of one step each live beside it:
`authorize` (the authorize request's checks), `client_auth` (secret or certificate),
`scope_request` (which resource a scope names), `device_flow`, `admin_consent`, and `tokens`
/ `tokens_api` (what the tokens say).  `routes.py` only translates HTTP.

Codes and device requests live in memory: a restart forgets sign-ins in progress, never the
tokens already issued (they are self-contained JWTs).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from central365.sandbox.identity import errors
from central365.sandbox.identity.admin_consent import ConsentRequest, with_admin_consent
from central365.sandbox.identity.authorize import AuthorizeRequest, check_authorize
from central365.sandbox.identity.client_auth import PUBLIC, authenticate_client, credential_missing
from central365.sandbox.identity.device_flow import DEVICE_CODE_GRANT, DeviceRequest, DeviceSignIns
from central365.sandbox.identity.errors import OAuthError, PageError
from central365.sandbox.identity.keys import LazySigningKey, SigningKey
from central365.sandbox.identity.registry import (
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
    DemoUser,
    IdentityConfig,
    RegisteredApp,
)
from central365.sandbox.identity.scope_request import (
    ScopeRequest,
    client_credentials_audience,
    parse_scopes,
)
from central365.sandbox.identity.tokens import (
    REFRESH_AUDIENCE,
    TokenMinter,
    UserGrant,
    issuer,
    pkce_matches,
    user_grant,
)

#: Tenant segments that stand for "whichever tenant the user belongs to".
MULTI_TENANT_SEGMENTS = frozenset({"common", "organizations"})

__all__ = ["AuthorizeRequest", "DeviceRequest", "IdentityService", "Tenant", "new_session_state"]


@dataclass(frozen=True)
class Tenant:
    """A tenant path segment resolved: `segment` goes into endpoint URLs (the tenant id for a
    domain, as Entra answers), `issuer_tid` into the metadata's issuer."""

    segment: str
    issuer_tid: str


@dataclass
class _PendingCode:
    """An authorization code not redeemed yet: who signed in, what the app asked for."""

    app: RegisteredApp
    user_oid: str
    requested: ScopeRequest
    nonce: str | None
    auth_time: int
    redirect_uri: str
    code_challenge: str
    expires_at: float


class IdentityService:
    """The identity platform's state and rules.  Cheap to build: the key is made on first use.

    `key_path` keeps the signing key in a PEM file across runs; `clock` (epoch seconds) is
    injectable for tests.
    """

    def __init__(
        self,
        config: IdentityConfig | None = None,
        *,
        key_path: Path | None = None,
        key: SigningKey | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config if config is not None else IdentityConfig()
        self._key = LazySigningKey(key_path, key)
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, _PendingCode] = {}
        self._redeemed: dict[str, float] = {}
        self._devices = DeviceSignIns(clock)
        #: Where browsers reach the sign-in pages, when not where msal reaches the sandbox: the
        #: demo serves them over plain http so a person's browser needs no certificate trust
        #: (msal itself only talks to the https token and key endpoints).
        self.browser_root: str | None = None

    # -- configuration -----------------------------------------------------------------------

    @property
    def config(self) -> IdentityConfig:
        return self._config

    def configure(self, config: IdentityConfig) -> None:
        """Replace the directory; codes and device sign-ins in flight are dropped."""
        with self._lock:
            self._config = config
            self._codes.clear()
        self._devices.clear()

    def grant_admin_consent(self, app: RegisteredApp, consent: ConsentRequest) -> None:
        """Record a tenant-wide admin consent (sign-ins in flight go on)."""
        with self._lock:
            self._config = with_admin_consent(self._config, app.client_id, consent)

    @property
    def key(self) -> SigningKey:
        return self._key.get()

    def now(self) -> int:
        return int(self._clock())

    # -- discovery ---------------------------------------------------------------------------

    def resolve_tenant(self, segment: str) -> Tenant:
        config = self._config
        if segment.casefold() in MULTI_TENANT_SEGMENTS:
            return Tenant(segment.casefold(), "{tenantid}")
        if config.knows_tenant(segment):
            return Tenant(config.tenant_id, config.tenant_id)
        raise errors.tenant_not_found(segment)

    def openid_configuration(self, root: str, tenant: Tenant) -> dict[str, Any]:
        """What `{tenant}/v2.0/.well-known/openid-configuration` serves (Entra's field set)."""
        base = f"{root}/{tenant.segment}"
        front = f"{self.browser_root or root}/{tenant.segment}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer(root, tenant.issuer_tid),
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{front}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{front}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "email",
            ],
            "code_challenge_methods_supported": ["S256"],
            "tenant_region_scope": None,
            "cloud_instance_name": "central365-sandbox",
            "msgraph_host": "graph.microsoft.com",
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.jwk()]}

    # -- authorize ---------------------------------------------------------------------------

    def check_authorize(self, params: Mapping[str, str]) -> AuthorizeRequest:
        """`authorize.check_authorize` against the current directory."""
        return check_authorize(self._config, params)

    def sign_in(self, request: AuthorizeRequest, user_key: str) -> str:
        """The person chose `user_key` (object id or username): a one-time code for the app."""
        config = self._config
        user = config.user(user_key)
        if user is None:
            raise PageError(
                "invalid_request", 50034, f"The user account {user_key} does not exist."
            )
        code = "0.S." + secrets.token_urlsafe(48)
        with self._lock:
            self._purge()
            self._codes[code] = _PendingCode(
                app=request.app,
                user_oid=user.oid,
                requested=request.requested,
                nonce=request.nonce,
                auth_time=self.now(),
                redirect_uri=request.redirect_uri,
                code_challenge=request.code_challenge,
                expires_at=self._clock() + config.code_lifetime_s,
            )
        return code

    def _purge(self) -> None:
        now = self._clock()
        for code in [c for c, p in self._codes.items() if p.expires_at < now]:
            del self._codes[code]
        for code in [c for c, t in self._redeemed.items() if t < now]:
            del self._redeemed[code]

    # -- token endpoint ----------------------------------------------------------------------

    def token(
        self,
        form: Mapping[str, str],
        *,
        basic: tuple[str, str] | None,
        root: str,
        tenant: Tenant,
    ) -> dict[str, Any]:
        """Answer a token request (form fields, HTTP Basic credentials); raises `OAuthError`."""
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise errors.invalid_request(
                900144, "The request body must contain the following parameter: 'grant_type'."
            )
        config = self._config
        app, client_acr = authenticate_client(config, form, basic, self._token_urls(root, tenant))
        minter = TokenMinter(self.key, config, root, self.now(), client_acr)
        want_client_info = form.get("client_info") == "1"
        if grant_type == "authorization_code":
            grant = self._redeem_code(form, app)
            return minter.user_response(grant, want_client_info=want_client_info)
        if grant_type == "refresh_token":
            grant = self._redeem_refresh_token(form, app)
            return minter.user_response(grant, want_client_info=want_client_info)
        if grant_type == "client_credentials":
            if client_acr == PUBLIC:
                raise credential_missing()
            audience = client_credentials_audience(config, form.get("scope", ""))
            return minter.app_response(app, audience)
        if grant_type == DEVICE_CODE_GRANT:
            grant = self._devices.redeem(form.get("device_code", ""), app)
            return minter.user_response(grant, want_client_info=want_client_info)
        raise OAuthError(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

    def _token_urls(self, root: str, tenant: Tenant) -> list[str]:
        """This tenant's token endpoint under each of its names (client assertion audiences)."""
        config = self._config
        segments = {tenant.segment, config.tenant_id, *config.domains} | MULTI_TENANT_SEGMENTS
        return [f"{root}/{segment}/oauth2/v2.0/token" for segment in segments]

    def _redeem_code(self, form: Mapping[str, str], app: RegisteredApp) -> UserGrant:
        code = form.get("code", "")
        if not code:
            raise errors.invalid_request(
                900144, "The request body must contain the following parameter: 'code'."
            )
        with self._lock:
            pending = self._codes.pop(code, None)
            redeemed = code in self._redeemed
            if pending is not None:
                self._redeemed[code] = pending.expires_at
        if pending is None:
            if redeemed:
                raise errors.invalid_grant(
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new "
                    "valid code or use an existing refresh token.",
                )
            raise errors.invalid_grant(9002313, "Invalid request. Request is malformed or invalid.")
        if pending.expires_at < self._clock():
            raise errors.invalid_grant(
                70008,
                "The provided authorization code or refresh token has expired due to "
                "inactivity. Send a new interactive authorization request for this user and "
                "resource.",
            )
        if pending.app.client_id != app.client_id:
            raise errors.invalid_grant(
                70000, "The provided authorization code was issued to another application."
            )
        redirect_uri = form.get("redirect_uri", "")
        if redirect_uri != pending.redirect_uri:
            raise errors.invalid_grant(
                500112,
                f"The reply address '{redirect_uri}' does not match the reply address "
                f"'{pending.redirect_uri}' provided when requesting Authorization code.",
            )
        if not pkce_matches(form.get("code_verifier", ""), pending.code_challenge):
            raise errors.invalid_grant(
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the "
                "authorization request.",
            )
        user = self._current_user(pending.user_oid)
        raw_scope = form.get("scope", "")
        requested = parse_scopes(self._config, app, raw_scope) if raw_scope.strip() else None
        return user_grant(
            self._config,
            app,
            user,
            (requested or pending.requested).audience(),
            pending.requested.oidc,
            nonce=pending.nonce,
            auth_time=pending.auth_time,
        )

    def _current_user(self, oid: str) -> DemoUser:
        """The user a code or refresh token names, if still in the directory."""
        user = self._config.user(oid)
        if user is None:
            raise errors.invalid_grant(
                50034,
                f"The user account {oid} does not exist in the {self._config.tenant_id} directory.",
            )
        return user

    def _redeem_refresh_token(self, form: Mapping[str, str], app: RegisteredApp) -> UserGrant:
        token = form.get("refresh_token", "")
        if not token:
            raise errors.invalid_request(
                900144,
                "The request body must contain the following parameter: 'refresh_token'.",
            )
        try:
            claims = self.key.verify(token, audience=REFRESH_AUDIENCE, now=self._clock())
        except jwt.ExpiredSignatureError:
            raise errors.invalid_grant(
                700082,
                "The refresh token has expired due to inactivity. The token was issued and "
                "was inactive for too long.",
            ) from None
        except jwt.InvalidTokenError:
            raise errors.invalid_grant(
                9002313, "Invalid request. Request is malformed or invalid."
            ) from None
        if claims.get("client_id") != app.client_id:
            raise errors.invalid_grant(
                70000, "The refresh token was issued to another application."
            )
        if claims.get("tid") != self._config.tenant_id:
            raise errors.invalid_grant(50020, "The refresh token was issued by another tenant.")
        user = self._current_user(str(claims.get("oid", "")))
        requested = parse_scopes(self._config, app, form.get("scope", ""))
        return user_grant(
            self._config,
            app,
            user,
            requested.audience(),
            requested.oidc or tuple(claims.get("oidc", ())),
            auth_time=int(claims.get("auth_time", 0)),
        )

    # -- device code -------------------------------------------------------------------------

    def start_device_flow(
        self,
        form: Mapping[str, str],
        *,
        basic: tuple[str, str] | None,
        root: str,
        tenant: Tenant,
    ) -> dict[str, Any]:
        """`POST /devicecode`: a user code for the person, a device code for the app."""
        config = self._config
        app, _ = authenticate_client(config, form, basic, self._token_urls(root, tenant))
        requested = parse_scopes(config, app, form.get("scope", ""))
        return self._devices.start(config, app, requested, root)

    def device_request(self, user_code: str) -> DeviceRequest | None:
        """The pending device sign-in with this user code (case and dashes ignored)."""
        return self._devices.find(user_code)

    def finish_device_sign_in(
        self, request: DeviceRequest, user_key: str | None
    ) -> DemoUser | None:
        """Approve as `user_key` (object id or username), or decline with None."""
        return self._devices.finish(self._config, request, user_key)

    # -- Graph side --------------------------------------------------------------------------

    def verify_access_token(self, token: str) -> dict[str, Any]:
        """The claims of a Graph access token this sandbox issued; `jwt.InvalidTokenError`."""
        return self.key.verify(token, audience=[GRAPH_RESOURCE, GRAPH_APP_ID], now=self._clock())


def new_session_state() -> str:
    return str(uuid.uuid4())
