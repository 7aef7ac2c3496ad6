"""What a `scope` parameter asks for: which resource, which permissions, which OIDC scopes.

Entra's rules, as the sandbox applies them (docs/sandbox.md, "Scopes and resources"):

- a scope without a resource (`Contacts.Read`) or with Graph's (`https://graph.microsoft.com/`,
  its app id) is a Microsoft Graph permission; `openid profile email offline_access` are
  about the sign-in;
- `<identifier URI or client id>/<name>` is a permission on an API registered in the sandbox
  (`api://central365-demo/Runs.ReadWrite`); `<resource>/.default` stands for everything the app
  was granted on that resource;
- a scope the API does not expose is AADSTS650053, one the app was not granted AADSTS65001
  (`consent_required`), an unknown resource AADSTS70011;
- one token is for one resource: the token endpoint refuses scopes of two resources with
  AADSTS28000 (the authorize endpoint accepts them, for consent).
"""

from __future__ import annotations

from dataclasses import dataclass

from central365.sandbox.identity.errors import OAuthError, scope_not_exposed
from central365.sandbox.identity.registry import (
    GRAPH_RESOURCE,
    OIDC_SCOPES,
    IdentityConfig,
    RegisteredApp,
    graph_scope_name,
)

DEFAULT_SCOPE = ".default"


@dataclass(frozen=True)
class Audience:
    """The resource a token is for: Microsoft Graph (`api` None) or a registered API.

    `identifier` is how the request named it (v1.0 tokens carry it as `aud`, token responses
    spell the scopes with it).
    """

    api: RegisteredApp | None
    identifier: str = GRAPH_RESOURCE

    @property
    def key(self) -> str:
        return "graph" if self.api is None else f"api:{self.api.client_id.casefold()}"

    def scope(self, name: str) -> str:
        """The scope `name` as a token response spells it."""
        return name if self.api is None else f"{self.identifier}/{name}"


GRAPH = Audience(None)


@dataclass(frozen=True)
class ScopeRequest:
    """A parsed `scope` parameter: (audience, permission name) pairs and the OIDC scopes."""

    raw: str
    permissions: tuple[tuple[Audience, str], ...]
    oidc: tuple[str, ...]

    @property
    def shown(self) -> tuple[str, ...]:
        """The permissions asked for, as a person reads them (the sign-in page)."""
        return tuple(audience.scope(name) for audience, name in self.permissions)

    def audience(self) -> Audience:
        """The one resource asked for (Graph when only OIDC scopes were); AADSTS28000 else."""
        audiences = {a.key: a for a, _ in self.permissions}
        if len(audiences) > 1:
            raise OAuthError(
                "invalid_scope",
                28000,
                "Provided value for the input parameter scope is not valid because it contains "
                f"more than one resource. Scope {self.raw} is not valid.",
            )
        return next(iter(audiences.values()), GRAPH)


def parse_scopes(config: IdentityConfig, app: RegisteredApp, raw: str) -> ScopeRequest:
    """Parse a delegated request's `scope`; refuses what `app` may not ask for (see above)."""
    permissions: list[tuple[Audience, str]] = []
    oidc: list[str] = []
    for scope in raw.split():
        if scope.casefold() in OIDC_SCOPES:
            if scope.casefold() not in oidc:
                oidc.append(scope.casefold())
            continue
        pair = _permission(config, app, scope)
        if pair not in permissions:
            permissions.append(pair)
    return ScopeRequest(raw, tuple(permissions), tuple(oidc))


def _permission(config: IdentityConfig, app: RegisteredApp, scope: str) -> tuple[Audience, str]:
    name = graph_scope_name(scope)
    if name is not None:
        if name.casefold() != DEFAULT_SCOPE and not app.knows_delegated(name):
            raise _not_consented(app, name)
        return GRAPH, DEFAULT_SCOPE if name.casefold() == DEFAULT_SCOPE else name
    prefix, _, name = scope.rpartition("/")
    api = config.api(prefix) if prefix else None
    if api is None:
        raise OAuthError(
            "invalid_scope",
            70011,
            f"The provided value for the input parameter 'scope' is not valid. The scope "
            f"'{scope}' names a resource the sandbox does not know (only {GRAPH_RESOURCE} and "
            "the APIs of its registered apps).",
        )
    audience = Audience(api, prefix)
    if name.casefold() == DEFAULT_SCOPE:
        return audience, DEFAULT_SCOPE
    exposed = api.exposed_scope(name)
    if exposed is None:
        raise scope_not_exposed(app.display_name, name, api.client_id)
    granted = (config.api_scope(entry) for entry in app.delegated)
    if not any(
        g is not None and g[0].client_id == api.client_id and g[1] == exposed for g in granted
    ):
        raise _not_consented(app, scope)
    return audience, exposed


def _not_consented(app: RegisteredApp, name: str) -> OAuthError:
    return OAuthError(
        "consent_required",
        65001,
        f"The user or administrator has not consented to use the application with ID "
        f"'{app.client_id}' named '{app.display_name}'. Send an interactive authorization "
        f"request for this user and resource. (The app was not granted '{name}'.)",
    )


def client_credentials_audience(config: IdentityConfig, raw_scope: str) -> Audience:
    """The resource of a client credentials request: exactly one `<resource>/.default`."""
    scopes = raw_scope.split()
    if len(scopes) == 1 and scopes[0].casefold().endswith(f"/{DEFAULT_SCOPE}"):
        prefix = scopes[0][: -len(DEFAULT_SCOPE) - 1]
        if graph_scope_name(f"{prefix}/x") is not None:
            return GRAPH
        api = config.api(prefix)
        if api is not None:
            return Audience(api, prefix)
        raise OAuthError(
            "invalid_resource",
            500011,
            f"The resource principal named {prefix} was not found in the tenant.",
        )
    if len(scopes) > 1 and all(s.casefold().endswith(f"/{DEFAULT_SCOPE}") for s in scopes):
        raise OAuthError(  # two resources in one client credentials request: Entra's answer
            "invalid_scope",
            70011,
            "The provided request must include a 'scope' input parameter. The provided value "
            f"for the input parameter 'scope' is not valid. The scope {raw_scope} is not valid.",
        )
    shown = raw_scope or "(none)"
    raise OAuthError(
        "invalid_scope",
        1002012,
        f"The provided value for scope {shown} is not valid. Client credential flows must "
        "have a scope value with /.default suffixed to the resource identifier "
        "(application ID URI).",
    )
