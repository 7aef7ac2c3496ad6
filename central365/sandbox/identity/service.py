"""`IdentityService`: the sandbox's Microsoft identity platform, independent of HTTP.

Owns the directory (`IdentityConfig`, swappable at run time), the signing key (made lazily),
the one-time authorization codes and the device-code sign-ins in flight, and every rule of the
endpoints msal talks to: tenant resolution, the authorize request's checks, client
authentication (secret or certificate assertion) and the four grants (authorization_code with
PKCE, refresh_token, client_credentials, device_code).  `routes.py` only translates HTTP.

Codes and device requests live in memory: a restart forgets sign-ins in progress, never the
tokens already issued (they are self-contained JWTs).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from central365.sandbox.identity import errors
from central365.sandbox.identity.errors import OAuthError, PageError, RedirectableError
from central365.sandbox.identity.keys import LazySigningKey, SigningKey, verify_client_assertion
from central365.sandbox.identity.registry import (
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
    OIDC_SCOPES,
    DemoUser,
    IdentityConfig,
    RegisteredApp,
    graph_scope_name,
)
from central365.sandbox.identity.tokens import (
    REFRESH_AUDIENCE,
    TokenMinter,
    UserGrant,
    issuer,
    pkce_matches,
)

#: Tenant segments that stand for "whichever tenant the user belongs to".
MULTI_TENANT_SEGMENTS = frozenset({"common", "organizations"})
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
RESPONSE_MODES = ("query", "fragment", "form_post")
_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"


@dataclass(frozen=True)
class Tenant:
    """A tenant path segment resolved: `segment` goes into endpoint URLs (the tenant id for a
    domain, as Entra answers), `issuer_tid` into the metadata's issuer."""

    segment: str
    issuer_tid: str


@dataclass(frozen=True)
class AuthorizeRequest:
    """A checked `/authorize` request; `params` is the original query (for the sign-in form)."""

    app: RegisteredApp
    redirect_uri: str
    response_mode: str
    state: str | None
    nonce: str | None
    code_challenge: str
    scopes: tuple[str, ...]
    oidc: tuple[str, ...]
    login_hint: str | None
    params: Mapping[str, str]


@dataclass
class _PendingCode:
    grant: UserGrant
    redirect_uri: str
    code_challenge: str
    expires_at: float


@dataclass
class DeviceRequest:
    """A device-code sign-in: `status` pending → approved (with `grant`) or declined."""

    device_code: str
    user_code: str
    app: RegisteredApp
    oidc: tuple[str, ...]
    expires_at: float
    status: str = "pending"
    grant: UserGrant | None = None
    scopes: tuple[str, ...] = field(default=())


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
        self._devices: dict[str, DeviceRequest] = {}
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

    # -- scopes ------------------------------------------------------------------------------

    def split_scopes(self, app: RegisteredApp, raw: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(Graph permissions asked for, OIDC scopes asked for); refuses scopes the app lacks."""
        graph: list[str] = []
        oidc: list[str] = []
        for scope in raw.split():
            if scope.casefold() in OIDC_SCOPES:
                if scope.casefold() not in oidc:
                    oidc.append(scope.casefold())
                continue
            name = graph_scope_name(scope)
            if name is None:
                raise OAuthError(
                    "invalid_scope",
                    70011,
                    f"The provided value for the input parameter 'scope' is not valid. The "
                    f"scope '{scope}' names a resource the sandbox does not know (only "
                    f"{GRAPH_RESOURCE}).",
                )
            if name.casefold() == ".default":
                graph.extend(app.delegated)
            elif app.knows_delegated(name):
                graph.append(name)
            else:
                raise OAuthError(
                    "consent_required",
                    65001,
                    f"The user or administrator has not consented to use the application "
                    f"with ID '{app.client_id}' named '{app.display_name}'. Send an "
                    "interactive authorization request for this user and resource. "
                    f"(The app was not granted '{name}'.)",
                )
        return tuple(dict.fromkeys(graph)), tuple(oidc)

    # -- authorize ---------------------------------------------------------------------------

    def check_authorize(self, params: Mapping[str, str]) -> AuthorizeRequest:
        """Check an authorize request the way Entra does, before the sign-in page shows.

        Raises `PageError` while the redirect URI is not trusted yet, `RedirectableError`
        afterwards (the app hears about it at its redirect URI).
        """
        config = self._config
        client_id = params.get("client_id", "")
        if not client_id:
            raise PageError(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        app = config.app(client_id)
        if app is None:
            unknown = errors.unknown_client(client_id, config.tenant_id)
            raise PageError(unknown.error, unknown.aadsts, unknown.description)
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            raise PageError(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'redirect_uri'.",
            )
        if not app.redirect_allowed(redirect_uri):
            raise PageError(
                "invalid_request",
                50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match "
                f"the redirect URIs configured for the application '{client_id}'. Make sure "
                "the redirect URI sent in the request matches one added to your application.",
            )
        response_mode = params.get("response_mode") or "query"
        if response_mode not in RESPONSE_MODES:
            raise PageError(
                "invalid_request",
                900144,
                f"The response_mode '{response_mode}' is not supported: query, fragment or "
                "form_post.",
            )

        def redirectable(aadsts: int, error: str, description: str) -> RedirectableError:
            return RedirectableError(error, aadsts, description)

        response_type = params.get("response_type", "")
        if response_type != "code":
            raise redirectable(
                700051,
                "unsupported_response_type",
                f"response_type '{response_type}' is not enabled for the application.",
            )
        challenge = params.get("code_challenge", "")
        if not challenge:
            raise redirectable(
                9002325,
                "invalid_request",
                "Proof Key for Code Exchange is required: send code_challenge and "
                "code_challenge_method=S256.",
            )
        if params.get("code_challenge_method") != "S256":
            raise redirectable(
                501492,
                "invalid_request",
                "Invalid code_challenge_method: the sandbox accepts S256 only.",
            )
        if not _PKCE_CHALLENGE.fullmatch(challenge):
            raise redirectable(
                501491, "invalid_request", "Invalid size of Code_Challenge parameter."
            )
        raw_scope = params.get("scope", "")
        if not raw_scope.strip():
            raise redirectable(
                900144,
                "invalid_request",
                "The request body must contain the following parameter: 'scope'.",
            )
        try:
            scopes, oidc = self.split_scopes(app, raw_scope)
        except OAuthError as exc:
            raise redirectable(exc.aadsts, exc.error, exc.description) from None
        if params.get("prompt") == "none":
            raise redirectable(
                50058,
                "login_required",
                "A silent sign-in request was sent but no user is signed in (the sandbox "
                "keeps no sign-in session).",
            )
        return AuthorizeRequest(
            app=app,
            redirect_uri=redirect_uri,
            response_mode=response_mode,
            state=params.get("state"),
            nonce=params.get("nonce"),
            code_challenge=challenge,
            scopes=scopes,
            oidc=oidc,
            login_hint=params.get("login_hint"),
            params=dict(params),
        )

    def sign_in(self, request: AuthorizeRequest, user_key: str) -> str:
        """The person chose `user_key` (object id or username): a one-time code for the app."""
        config = self._config
        user = config.user(user_key)
        if user is None:
            raise PageError(
                "invalid_request", 50034, f"The user account {user_key} does not exist."
            )
        grant = UserGrant(
            app=request.app,
            user=user,
            scopes=config.delegated_grant(request.app, user),
            oidc=request.oidc,
            nonce=request.nonce,
            auth_time=self.now(),
        )
        code = "0.S." + secrets.token_urlsafe(48)
        with self._lock:
            self._purge()
            self._codes[code] = _PendingCode(
                grant=grant,
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
        for dc in [d for d, r in self._devices.items() if r.expires_at + 60 < now]:
            del self._devices[dc]

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
        app, authenticated = self._client(form, basic, root, tenant)
        minter = TokenMinter(self.key, self._config, root, self.now())
        want_client_info = form.get("client_info") == "1"
        if grant_type == "authorization_code":
            grant = self._redeem_code(form, app)
            return minter.user_response(grant, want_client_info=want_client_info)
        if grant_type == "refresh_token":
            grant = self._redeem_refresh_token(form, app)
            return minter.user_response(grant, want_client_info=want_client_info)
        if grant_type == "client_credentials":
            if not authenticated:
                raise _credential_missing()
            self._check_default_scope(form.get("scope", ""))
            return minter.app_response(app)
        if grant_type == DEVICE_CODE_GRANT:
            grant = self._redeem_device_code(form, app)
            return minter.user_response(grant, want_client_info=want_client_info)
        raise OAuthError(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

    def _client(
        self,
        form: Mapping[str, str],
        basic: tuple[str, str] | None,
        root: str,
        tenant: Tenant,
    ) -> tuple[RegisteredApp, bool]:
        """The calling app, and whether it proved itself with a secret or an assertion."""
        config = self._config
        client_id = form.get("client_id") or (basic[0] if basic else "")
        if basic is not None and form.get("client_id") and form["client_id"] != basic[0]:
            raise errors.invalid_client(
                7000216, "The client_id in the body and in the Authorization header differ."
            )
        if not client_id:
            raise errors.invalid_request(
                900144, "The request body must contain the following parameter: 'client_id'."
            )
        app = config.app(client_id)
        if app is None:
            raise errors.unknown_client(client_id, config.tenant_id)
        secret = form.get("client_secret") or (basic[1] if basic else "")
        assertion = form.get("client_assertion", "")
        if secret:
            if secret not in app.secrets:
                raise errors.invalid_client(
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the "
                    "request is the client secret value, not the client secret ID, for a "
                    f"secret added to app '{client_id}'.",
                )
            return app, True
        if assertion:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise errors.invalid_request(
                    50027, f"client_assertion_type must be '{JWT_BEARER}'."
                )
            audiences = [
                f"{root}/{segment}/oauth2/v2.0/token"
                for segment in {tenant.segment, config.tenant_id, *config.domains}
                | MULTI_TENANT_SEGMENTS
            ]
            problem = verify_client_assertion(
                assertion, app.certificates, client_id=client_id, audiences=audiences
            )
            if problem is not None:
                raise errors.invalid_client(700027, f"Client assertion failed: {problem}")
            return app, True
        if not app.public_client:
            raise _credential_missing()
        return app, False

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
        if pending.grant.app.client_id != app.client_id:
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
        self._current_user(pending.grant.user.oid)
        return pending.grant

    def _current_user(self, oid: str) -> DemoUser:
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
        raw_scope = form.get("scope", "")
        _, asked_oidc = self.split_scopes(app, raw_scope)
        oidc = asked_oidc or tuple(claims.get("oidc", ()))
        return UserGrant(
            app=app,
            user=user,
            scopes=self._config.delegated_grant(app, user),
            oidc=oidc,
            auth_time=int(claims.get("auth_time", 0)),
        )

    @staticmethod
    def _check_default_scope(raw_scope: str) -> None:
        scopes = raw_scope.split()
        allowed = {f"{GRAPH_RESOURCE}/.default", f"{GRAPH_APP_ID}/.default"}
        if len(scopes) == 1 and scopes[0].casefold() in allowed:
            return
        shown = raw_scope or "(none)"
        if len(scopes) == 1 and scopes[0].endswith("/.default"):
            raise OAuthError(
                "invalid_resource",
                500011,
                f"The resource principal named {scopes[0][: -len('/.default')]} was not found "
                "in the tenant.",
            )
        raise OAuthError(
            "invalid_scope",
            1002012,
            f"The provided value for scope {shown} is not valid. Client credential flows must "
            "have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
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
        app, _ = self._client(form, basic, root, tenant)
        scopes, oidc = self.split_scopes(app, form.get("scope", ""))
        config = self._config
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
        device_code = "DAQABIQEAAAB" + secrets.token_urlsafe(64)
        request = DeviceRequest(
            device_code=device_code,
            user_code=user_code,
            app=app,
            oidc=oidc,
            scopes=scopes,
            expires_at=self._clock() + config.device_code_lifetime_s,
        )
        with self._lock:
            self._purge()
            self._devices[device_code] = request
        verification_uri = f"{root}/devicelogin"
        return {
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": verification_uri,
            "expires_in": config.device_code_lifetime_s,
            "interval": config.device_poll_interval_s,
            "message": (
                f"To sign in, use a web browser to open the page {verification_uri} and enter "
                f"the code {user_code} to authenticate."
            ),
        }

    def device_request(self, user_code: str) -> DeviceRequest | None:
        """The pending device sign-in with this user code (case and dashes ignored)."""
        wanted = user_code.strip().upper().replace("-", "")
        with self._lock:
            for request in self._devices.values():
                if (
                    request.user_code == wanted
                    and request.status == "pending"
                    and request.expires_at >= self._clock()
                ):
                    return request
        return None

    def finish_device_sign_in(
        self, request: DeviceRequest, user_key: str | None
    ) -> DemoUser | None:
        """Approve as `user_key` (object id or username), or decline with None."""
        if user_key is None:
            request.status = "declined"
            return None
        config = self._config
        user = config.user(user_key)
        if user is None:
            return None
        request.grant = UserGrant(
            app=request.app,
            user=user,
            scopes=config.delegated_grant(request.app, user),
            oidc=request.oidc,
            auth_time=self.now(),
        )
        request.status = "approved"
        return user

    def _redeem_device_code(self, form: Mapping[str, str], app: RegisteredApp) -> UserGrant:
        device_code = form.get("device_code", "")
        with self._lock:
            request = self._devices.get(device_code)
            if request is not None and request.status != "pending":
                del self._devices[device_code]
        if request is None or request.app.client_id != app.client_id:
            raise OAuthError("expired_token", 70019, "Verification code expired.")
        if request.expires_at < self._clock():
            raise OAuthError(
                "expired_token",
                70020,
                "The provided value for the input parameter 'device_code' is not valid. Device codes expire after 15 minutes.",
            )
        if request.status == "declined":
            raise OAuthError(
                "authorization_declined", 65004, "User declined to consent to access the app."
            )
        if request.status == "pending" or request.grant is None:
            raise OAuthError(
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        return request.grant

    # -- Graph side --------------------------------------------------------------------------

    def verify_access_token(self, token: str) -> dict[str, Any]:
        """The claims of a Graph access token this sandbox issued; `jwt.InvalidTokenError`."""
        return self.key.verify(token, audience=[GRAPH_RESOURCE, GRAPH_APP_ID], now=self._clock())


def _credential_missing() -> OAuthError:
    return errors.invalid_client(
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
    )


def new_session_state() -> str:
    return str(uuid.uuid4())
