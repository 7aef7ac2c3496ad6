"""The Microsoft identity platform endpoints msal uses, emulated by the sandbox.

Real msal-python (auth code flow with PKCE, refresh, client credentials, device code) works
against the sandbox unchanged: only the authority (`https://127.0.0.1:8765/<tenant>`),
`instance_discovery=False` and a trusted CA differ from production.  See docs/sandbox.md,
"Identity platform".

- `registry`: the tenant, registered apps and demo users (`IdentityConfig`);
- `keys`: the RSA signing key and JWKS, client certificate assertions;
- `tokens`: the claims of access, ID and refresh tokens, the token response;
- `service`: the endpoints' rules (`IdentityService`), independent of HTTP;
- `routes`, `pages`: the HTTP endpoints and the sign-in pages;
- `graph_access`: the Graph side: verifying bearer tokens, scopes, `/me`.

Only the light modules are imported here (`routes` and `graph_access` import the sandbox's
Graph modules, which import this package's `service` through the context).
"""

from central365.sandbox.identity.registry import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    DemoUser,
    IdentityConfig,
    RegisteredApp,
)
from central365.sandbox.identity.service import IdentityService

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TENANT_ID",
    "DemoUser",
    "IdentityConfig",
    "IdentityService",
    "RegisteredApp",
]
