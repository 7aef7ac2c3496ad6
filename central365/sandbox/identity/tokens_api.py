"""Access tokens for an API registered in the sandbox (the app's own API), as Entra shapes them.

Microsoft's access token claims reference decides the shape, by the API's
`accessTokenAcceptedVersion` (`RegisteredApp.access_token_version`):

- v2.0: `aud` = the API's client id, `iss` = `{root}/{tid}/v2.0`, the client in `azp` /
  `azpacr`, the user in `name`, `oid`, `preferred_username`;
- v1.0 (Entra's default): `aud` = the identifier the client asked for (`api://...` or the client
  id), `iss` = `{root}/{tid}/` (Entra's `https://sts.windows.net/{tid}/`), the client in
  `appid` / `appidacr`, the user in `name`, `oid`, `upn`, `unique_name`.

Both carry `sub` (pairwise per user and API; the service principal's object id for app
tokens), `tid`, `uti`, `ver`, `iat` / `nbf` / `exp`.  Delegated tokens carry `scp` (the API's
scopes granted) and `roles` (the user's app roles on the API); app tokens carry only `roles`
(the calling app's assigned app roles).  Claims without a value are left out, as Entra does: a
caller without roles gets no `roles` claim, never an empty one.  `idtyp` is an optional claim
which Microsoft's optional claims reference documents for app-only tokens only (`app`): present
there when the API's registration asks for it (`optional_claims`), never in delegated ones.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from central365.sandbox.identity.keys import b64url
from central365.sandbox.identity.registry import DemoUser, RegisteredApp

if TYPE_CHECKING:
    from central365.sandbox.identity.scope_request import Audience
    from central365.sandbox.identity.tokens import TokenMinter, UserGrant


def pairwise_sub(user: DemoUser, app: RegisteredApp) -> str:
    """`sub`: one value per user and app, as Entra's pairwise subject."""
    return b64url(hashlib.sha256(f"{user.oid}:{app.client_id}".encode()).digest())


def _base(
    minter: TokenMinter, client: RegisteredApp, api: RegisteredApp, identifier: str
) -> dict[str, Any]:
    tenant = minter.config.tenant_id
    claims: dict[str, Any] = {
        **minter.times(minter.config.access_token_lifetime_s),
        "tid": tenant,
        "uti": b64url(uuid.uuid4().bytes),
    }
    if api.access_token_version == 2:
        claims.update(
            {
                "aud": api.client_id,
                "iss": f"{minter.root}/{tenant}/v2.0",
                "azp": client.client_id,
                "azpacr": minter.client_acr,
                "ver": "2.0",
            }
        )
    else:
        claims.update(
            {
                "aud": identifier,
                "iss": f"{minter.root}/{tenant}/",
                "appid": client.client_id,
                "appidacr": minter.client_acr,
                "ver": "1.0",
            }
        )
    return claims


def api_user_token(minter: TokenMinter, grant: UserGrant) -> str:
    """A delegated token for `grant.audience`'s API: `scp`, and the user's roles there."""
    api = grant.audience.api
    assert api is not None, "a Graph grant has no API token"
    user = grant.user
    claims = _base(minter, grant.app, api, grant.audience.identifier)
    claims.update(
        {
            "name": user.name,
            "oid": user.oid,
            "sub": pairwise_sub(user, api),
            "scp": " ".join(grant.scopes),
        }
    )
    if api.access_token_version == 2:
        claims["preferred_username"] = user.username
    else:
        claims.update({"upn": user.username, "unique_name": user.username})
    roles = user.roles_on(api.client_id)
    if roles:
        claims["roles"] = list(roles)
    return minter.key.sign(claims)


def api_app_token(minter: TokenMinter, client: RegisteredApp, audience: Audience) -> str:
    """An app-only token for `audience`'s API: the calling app's roles there, no `scp`."""
    api = audience.api
    assert api is not None, "a Graph audience has no API token"
    claims = _base(minter, client, api, audience.identifier)
    claims.update({"oid": client.oid, "sub": client.oid})
    roles = client.roles_on(api.client_id)
    if roles:
        claims["roles"] = list(roles)
    if "idtyp" in api.optional_claims:
        claims["idtyp"] = "app"
    return minter.key.sign(claims)
