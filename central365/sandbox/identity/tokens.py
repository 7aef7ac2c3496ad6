"""The tokens the sandbox issues, with the claims Entra puts in them, and the token response.

- Access tokens for Graph: RS256 JWTs, `aud` = `https://graph.microsoft.com`, `iss`, `tid`,
  `appid`/`azp`, `iat`/`nbf`/`exp`; delegated ones carry the user (`oid`, `sub`, `upn`,
  `preferred_username`, `unique_name`, `name`) and `scp` (space-separated), app-only ones
  `roles` and the service principal's `oid` (`idtyp` says which).
- Access tokens for an API registered in the sandbox (`tokens_api`): shaped by the API's
  `access_token_version`, with the user's app roles or the calling app's in `roles`.
- ID tokens: `aud` = the client id, `roles` = the user's app roles on that app (when any), `iss`, `tid`, `oid`, `sub` (pairwise: per user and app, as
  Entra's), `name`, `preferred_username`, `nonce` (echoed from the authorize request; msal sends
  a hash of its flow's nonce and checks it here), `ver` 2.0; `email` with the email scope.
- Refresh tokens: signed JWTs too, but for the sandbox's own audience (never accepted by the
  Graph side), carrying the client, the user and the OIDC scopes; each refresh returns a new one
  (rotation; like Entra, the old one is not revoked).  Self-contained, so they survive restarts
  when the signing key is kept in a file.
- `client_info`: base64url JSON `{"uid": oid, "utid": tid}`; msal builds its account
  (`home_account_id` = `uid.utid`) from it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from central365.sandbox.identity.keys import SigningKey, b64url
from central365.sandbox.identity.registry import (
    GRAPH_RESOURCE,
    DemoUser,
    IdentityConfig,
    RegisteredApp,
)
from central365.sandbox.identity.scope_request import GRAPH, Audience
from central365.sandbox.identity.tokens_api import api_app_token, api_user_token, pairwise_sub

#: The audience of the sandbox's refresh tokens: no resource accepts them as access tokens.
REFRESH_AUDIENCE = "urn:central365-sandbox:refresh-token"


def issuer(root: str, tenant_id: str) -> str:
    """Entra's v2.0 issuer for a tenant, on the sandbox's host."""
    return f"{root}/{tenant_id}/v2.0"


def client_info(user: DemoUser, tenant_id: str) -> str:
    payload = json.dumps({"uid": user.oid, "utid": tenant_id}, separators=(",", ":"))
    return b64url(payload.encode())


def pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 S256: base64url(sha256(verifier)) == challenge."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge


@dataclass(frozen=True)
class UserGrant:
    """A signed-in user's grant to an app: what their tokens say."""

    app: RegisteredApp
    user: DemoUser
    scopes: tuple[str, ...]  # delegated permissions on `audience` (`scp`)
    oidc: tuple[str, ...]  # openid / profile / email / offline_access, as requested
    nonce: str | None = None
    auth_time: int = 0
    audience: Audience = GRAPH


def user_grant(
    config: IdentityConfig,
    app: RegisteredApp,
    user: DemoUser,
    audience: Audience,
    oidc: tuple[str, ...],
    *,
    nonce: str | None = None,
    auth_time: int = 0,
) -> UserGrant:
    """What `user` signed in to `app` holds on `audience`: every permission granted there."""
    if audience.api is None:
        scopes = config.delegated_grant(app, user)
    else:
        scopes = config.api_grant(app, user, audience.api)
    return UserGrant(app, user, scopes, oidc, nonce, auth_time, audience)


class TokenMinter:
    """Signs tokens for one request: `root` is the base URL the client used, `now` epoch s."""

    def __init__(
        self, key: SigningKey, config: IdentityConfig, root: str, now: int, client_acr: str = "1"
    ) -> None:
        self.key = key
        self.config = config
        self.root = root
        self.now = now
        self.issuer = issuer(root, config.tenant_id)
        #: How the client proved itself: "0" public client, "1" secret, "2" certificate.
        self.client_acr = client_acr

    def times(self, lifetime_s: int) -> dict[str, int]:
        return {"iat": self.now, "nbf": self.now, "exp": self.now + lifetime_s}

    def _common(self, app: RegisteredApp) -> dict[str, Any]:
        return {
            "aud": GRAPH_RESOURCE,
            "iss": self.issuer,
            **self.times(self.config.access_token_lifetime_s),
            "app_displayname": app.display_name,
            "appid": app.client_id,
            "azp": app.client_id,
            "tid": self.config.tenant_id,
            "uti": b64url(uuid.uuid4().bytes),
            "ver": "1.0",
        }

    def user_access_token(self, grant: UserGrant) -> str:
        claims = self._common(grant.app)
        claims.update(
            {
                "idtyp": "user",
                "name": grant.user.name,
                "oid": grant.user.oid,
                "sub": grant.user.oid,
                "upn": grant.user.username,
                "preferred_username": grant.user.username,
                "unique_name": grant.user.username,
                "scp": " ".join(grant.scopes),
            }
        )
        return self.key.sign(claims)

    def app_access_token(self, app: RegisteredApp) -> str:
        claims = self._common(app)
        claims.update(
            {"idtyp": "app", "oid": app.oid, "sub": app.oid, "roles": list(app.application)}
        )
        return self.key.sign(claims)

    def id_token(self, grant: UserGrant) -> str:
        claims: dict[str, Any] = {
            "aud": grant.app.client_id,
            "iss": self.issuer,
            **self.times(self.config.access_token_lifetime_s),
            "name": grant.user.name,
            "oid": grant.user.oid,
            "preferred_username": grant.user.username,
            "sub": pairwise_sub(grant.user, grant.app),
            "tid": self.config.tenant_id,
            "uti": b64url(uuid.uuid4().bytes),
            "ver": "2.0",
        }
        if grant.auth_time:
            claims["auth_time"] = grant.auth_time
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        if "email" in grant.oidc:
            claims["email"] = grant.user.username
        roles = grant.user.roles_on(grant.app.client_id)
        if roles:  # absent, not empty, without an assignment (Entra omits empty claims)
            claims["roles"] = list(roles)
        return self.key.sign(claims)

    def refresh_token(self, grant: UserGrant) -> str:
        return self.key.sign(
            {
                "aud": REFRESH_AUDIENCE,
                "iss": self.issuer,
                **self.times(self.config.refresh_token_lifetime_s),
                "client_id": grant.app.client_id,
                "oid": grant.user.oid,
                "tid": self.config.tenant_id,
                "oidc": list(grant.oidc),
                "auth_time": grant.auth_time,
                "jti": str(uuid.uuid4()),
            }
        )

    def user_response(self, grant: UserGrant, *, want_client_info: bool) -> dict[str, Any]:
        """Entra's answer to a successful delegated grant."""
        lifetime = self.config.access_token_lifetime_s
        shown_oidc = [s for s in grant.oidc if s != "offline_access"]
        if grant.audience.api is None:
            scope = [*grant.scopes, *shown_oidc]
            access_token = self.user_access_token(grant)
        else:  # Entra names only the API's scopes for a resource other than Graph
            scope = [grant.audience.scope(s) for s in grant.scopes]
            access_token = api_user_token(self, grant)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(scope),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }
        if "offline_access" in grant.oidc:
            body["refresh_token"] = self.refresh_token(grant)
        if "openid" in grant.oidc:
            body["id_token"] = self.id_token(grant)
        if want_client_info:
            body["client_info"] = client_info(grant.user, self.config.tenant_id)
        return body

    def app_response(self, app: RegisteredApp, audience: Audience = GRAPH) -> dict[str, Any]:
        """Entra's answer to a client credentials grant (no scope, no refresh token)."""
        lifetime = self.config.access_token_lifetime_s
        if audience.api is None:
            access_token = self.app_access_token(app)
        else:
            access_token = api_app_token(self, app, audience)
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }
