"""The Microsoft identity platform endpoints msal uses, emulated by the sandbox.

Real msal-python (auth code flow with PKCE, refresh, client credentials, device code) works
against the sandbox unchanged: only the authority (`https://127.0.0.1:8765/<tenant>`),
`instance_discovery=False` and a trusted CA differ from production.  See docs/sandbox.md,
"Identity platform".

- `registry`: the tenant, registered apps (app roles, exposed API scopes), demo users and their
  role assignments (`IdentityConfig`); `directory_json`: the directory as JSON;
- `keys`: the RSA signing key and JWKS, client certificate assertions;
- `scope_request`: which resource and permissions a `scope` names (Graph or a registered API);
- `tokens`, `tokens_api`: the claims of access (Graph, the app's own API), ID and refresh
  tokens, the token response;
- `service`: the endpoints' rules (`IdentityService`), independent of HTTP, with `authorize`,
  `client_auth`, `device_flow` and `admin_consent` for one step each;
- `routes`, `routes_consent`, `pages`: the HTTP endpoints and the pages people see;
- `graph_access`: the Graph side: verifying bearer tokens, scopes, `/me`.

Only the light modules are imported here (`routes` and `graph_access` import the sandbox's
Graph modules, which import this package's `service` through the context).
"""

from central365.sandbox.identity.registry import (
    ADMIN_ROLE,
    DEFAULT_API_SCOPE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    SCRIPT_CLIENT_ID,
    SCRIPT_CLIENT_SECRET,
    SYNC_ROLE,
    AppRole,
    DemoUser,
    IdentityConfig,
    RegisteredApp,
)
from central365.sandbox.identity.service import IdentityService

__all__ = [
    "ADMIN_ROLE",
    "DEFAULT_API_SCOPE",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TENANT_ID",
    "SCRIPT_CLIENT_ID",
    "SCRIPT_CLIENT_SECRET",
    "SYNC_ROLE",
    "AppRole",
    "DemoUser",
    "IdentityConfig",
    "IdentityService",
    "RegisteredApp",
]
