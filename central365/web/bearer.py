"""Bearer tokens for the JSON API: access tokens the configured authority issued for this app.

A script or another service may call `/api/*` with `Authorization: Bearer <token>` instead of the
session cookie.  The token is checked with PyJWT against the authority's published keys (JWKS):
signature (RS256), `exp`/`nbf`, issuer (the authority's, with `{tenantid}` filled from `tid` for
multi-tenant authorities) and audience (the client id or `api://<client id>`).  Then its kind:

- a person's access token carries `scp`, which must hold `Runs.ReadWrite` (the scope the app
  exposes as `api://<client id>/Runs.ReadWrite`);
- an application's token (client credentials, `api://<client id>/.default`) has no `scp`, has
  `roles`, and says it is an app (`idtyp` = app, or `oid` = `sub` with `azp`/`appid` set); it
  needs the `Central365.Sync` or `Central365.Admin` app role;
- anything else — an ID token above all, which has the client id as audience too — is refused.

The caller's tenant (`tid`) is checked against the homepage's tenants by the caller
(`central365.web.deps`), so an injected verifier is held to it as well.

Owns: fetching and caching the authority's OpenID metadata and JWKS (refetched once when a token
names an unknown key, so key rollover just works).  Must not: accept an unsigned or `none`
token, or put a token in an error message.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from central365.web.errors import Forbidden, SignInRequired
from central365.web.identity import claimed_roles
from central365.web.roles import Role, roles_of

ALGORITHMS = ("RS256",)
#: The delegated scope the app exposes for its API (`api://<client id>/Runs.ReadWrite`).
API_SCOPE = "Runs.ReadWrite"
_KEYS_TTL_S = 3600.0


@dataclass(frozen=True, slots=True)
class BearerIdentity:
    """Who a verified token speaks for."""

    oid: str
    tenant_id: str
    name: str
    username: str
    roles: frozenset[str] = frozenset()
    is_app: bool = False


def _is_app_token(claims: Mapping[str, Any]) -> bool:
    """Client credentials: `idtyp` says so (optional claim), or the subject is the app itself."""
    if str(claims.get("idtyp", "")).casefold() == "app":
        return True
    subject_is_object = bool(claims.get("oid")) and claims.get("oid") == claims.get("sub")
    return subject_is_object and bool(claims.get("azp") or claims.get("appid"))


def identity_of(claims: Mapping[str, Any]) -> BearerIdentity:
    """Who a verified token speaks for, once it is known to be an access token for the API.

    Raises `SignInRequired` for a token that is not an access token for this API (an ID token),
    `Forbidden` for one without the API's scope or (an application's) without an app role.
    """
    scopes = str(claims.get("scp") or "").split()
    roles = claimed_roles(claims)
    oid = str(claims.get("oid") or claims.get("sub") or "")
    if not oid:
        raise SignInRequired("The bearer token names no user or application.")
    tenant = str(claims.get("tid", ""))
    if scopes:
        if API_SCOPE.casefold() not in {s.casefold() for s in scopes}:
            raise Forbidden(
                f"The bearer token does not carry the {API_SCOPE} scope: ask for "
                f"api://<client id>/{API_SCOPE} when getting the token.",
            )
        username = str(claims.get("preferred_username") or claims.get("upn") or "")
        name = str(claims.get("name") or username or oid)
        return BearerIdentity(oid, tenant, name, username or name, roles)
    if roles and _is_app_token(claims):
        if not roles_of(roles):
            raise Forbidden(
                f"This application holds no central365 app role: an administrator assigns it "
                f"{Role.SYNC.value} (or {Role.ADMIN.value}) on the central365 app registration.",
                role=Role.SYNC.value,
            )
        app_id = str(claims.get("azp") or claims.get("appid") or oid)
        name = str(claims.get("app_displayname") or app_id)
        return BearerIdentity(oid, tenant, name, f"app:{app_id}", roles, is_app=True)
    raise SignInRequired(
        "The bearer token is not an access token for the central365 API (an ID token, say): "
        f"get one for api://<client id>/{API_SCOPE}, or api://<client id>/.default with "
        "client credentials."
    )


class BearerVerifier:
    """Verify access tokens against an issuer and a JWKS.

    Args:
        issuer: the expected `iss`; `{tenantid}` in it is replaced by the token's `tid`.
        audiences: accepted `aud` values (the client id and `api://<client id>`).
        jwks: returns the JWKS document (`{"keys": [...]}`); called again at most hourly,
            or once when a token names a key id it does not hold.
        leeway_s: clock skew allowed on `exp` and `nbf`.
    """

    def __init__(
        self,
        *,
        issuer: str | Callable[[], str],
        audiences: Sequence[str],
        jwks: Callable[[], Mapping[str, Any]],
        leeway_s: float = 60.0,
    ) -> None:
        self._issuer = issuer
        self._audiences = list(audiences)
        self._fetch = jwks
        self._leeway = leeway_s
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -_KEYS_TTL_S

    def _load_keys(self) -> None:
        keys: dict[str, jwt.PyJWK] = {}
        for entry in self._fetch().get("keys", []):
            try:
                key = jwt.PyJWK.from_dict(dict(entry))
            except jwt.PyJWTError:
                continue  # a key type PyJWT does not know (or an encryption key): not ours
            if key.key_id:
                keys[key.key_id] = key
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            stale = time.monotonic() - self._fetched_at > _KEYS_TTL_S
            if stale or kid not in self._keys:
                self._load_keys()
            key = self._keys.get(kid)
        if key is None:
            raise SignInRequired("The bearer token is signed by a key the authority does not list.")
        return key

    def verify(self, token: str) -> BearerIdentity:
        """The token's identity; `SignInRequired` for any token that does not verify or is not
        an access token for this API, `Forbidden` for one lacking its scope or app role."""
        try:
            header = jwt.get_unverified_header(token)
            kid = str(header.get("kid") or "")
            if header.get("alg") not in ALGORITHMS or not kid:
                raise SignInRequired("The bearer token is not signed the way the authority signs.")
            claims: dict[str, Any] = jwt.decode(
                token,
                key=self._key(kid),
                algorithms=list(ALGORITHMS),
                audience=self._audiences,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"], "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            raise SignInRequired("The bearer token has expired.") from None
        except jwt.InvalidAudienceError:
            raise SignInRequired("The bearer token was not issued for central365.") from None
        except jwt.PyJWTError as exc:
            raise SignInRequired(f"The bearer token is not valid ({type(exc).__name__}).") from None
        issuer = self._issuer() if callable(self._issuer) else self._issuer
        expected = issuer.replace("{tenantid}", str(claims.get("tid", "")))
        if claims.get("iss") != expected:
            raise SignInRequired("The bearer token was issued by another authority.")
        return identity_of(claims)


class AuthorityMetadata:
    """The authority's OpenID configuration and JWKS, fetched lazily over httpx.

    Args:
        authority: `{authority_host}/{tenant}`.
        ca_bundle: CA certificates to trust (the sandbox's local CA).
        timeout: seconds per request.
    """

    def __init__(self, authority: str, ca_bundle: Path | None = None, timeout: float = 30.0):
        self._url = f"{authority.rstrip('/')}/v2.0/.well-known/openid-configuration"
        # An SSLContext, not a path: httpx 0.28 deprecates `verify=<path>`.
        self._verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle else True
        )
        self._timeout = timeout
        self._config: Mapping[str, Any] | None = None
        self._lock = threading.Lock()

    def _get(self, url: str) -> Mapping[str, Any]:
        try:
            response = httpx.get(url, timeout=self._timeout, verify=self._verify)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInRequired(
                f"The authority's signing keys could not be read ({type(exc).__name__})."
            ) from None
        if not isinstance(data, Mapping):
            raise SignInRequired("The authority's metadata is not a JSON object.")
        return data

    def config(self) -> Mapping[str, Any]:
        with self._lock:
            if self._config is None:
                self._config = self._get(self._url)
            return self._config

    def issuer(self) -> str:
        return str(self.config().get("issuer", ""))

    def jwks(self) -> Mapping[str, Any]:
        return self._get(str(self.config().get("jwks_uri", "")))


def verifier_for(
    authority: str, client_id: str, ca_bundle: Path | None = None, timeout: float = 30.0
) -> BearerVerifier:
    """The production verifier: the authority's own issuer and keys, this app's audiences."""
    metadata = AuthorityMetadata(authority, ca_bundle, timeout)
    return BearerVerifier(
        issuer=metadata.issuer, audiences=[client_id, f"api://{client_id}"], jwks=metadata.jwks
    )
