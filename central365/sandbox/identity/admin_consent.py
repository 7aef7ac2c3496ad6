"""Tenant-wide admin consent: what an admin is asked to grant, and what granting changes.

Microsoft's admin consent endpoints (docs/sandbox.md, "Admin consent"):

- `/{tenant}/v2.0/adminconsent?client_id&scope&redirect_uri&state`: the admin approves the
  permissions named in `scope`, static (`<resource>/.default`: everything configured on the
  app registration, delegated and application) or dynamic (named permissions);
- `/{tenant}/adminconsent?client_id&redirect_uri&state` (v1.0): no `scope`, everything
  configured on the registration.

Only a user holding a directory role that may grant consent (`DemoUser.directory_admin`) may
accept.  Accepting grants the delegated permissions to the app for every user of the tenant:
they join the app's `delegated` list and every user's own `consented` list, since Entra's
grants add up (an admin-consented permission reaches users who had consented to less).
Application permissions need no change: in the sandbox, what an app registration lists is
what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from central365.sandbox.identity.errors import OAuthError, scope_not_exposed
from central365.sandbox.identity.registry import (
    GRAPH_RESOURCE,
    OIDC_SCOPES,
    IdentityConfig,
    RegisteredApp,
    graph_scope_name,
)
from central365.sandbox.identity.scope_request import DEFAULT_SCOPE


@dataclass(frozen=True)
class ConsentRequest:
    """The permissions an admin is asked to grant `app`, resolved against the directory."""

    graph_delegated: tuple[str, ...] = ()  # Graph permission names
    graph_application: tuple[str, ...] = ()
    api_delegated: tuple[str, ...] = ()  # full scopes on sandbox APIs (`api://x/Scope`)
    api_application: tuple[str, ...] = ()  # "<api client id>: <role>", shown only
    oidc: tuple[str, ...] = ()

    def granted(self) -> str:
        """The redirect's `scope`: the permissions granted, as full scope strings."""
        graph = [f"{GRAPH_RESOURCE}/{name}" for name in self.graph_delegated]
        return " ".join(dict.fromkeys([*graph, *self.api_delegated, *self.oidc]))

    def lines(self) -> list[tuple[str, str]]:
        """(permission, what kind) for the consent page."""
        return [
            *((n, "Microsoft Graph, delegated") for n in self.graph_delegated),
            *((n, "Microsoft Graph, application") for n in self.graph_application),
            *((s, "API, delegated") for s in self.api_delegated),
            *((r, "API, application (app role)") for r in self.api_application),
            *((s, "sign-in") for s in self.oidc),
        ]


def _unique(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for group in groups for s in group))


def configured(config: IdentityConfig, app: RegisteredApp) -> ConsentRequest:
    """Everything on `app`'s registration (the v1.0 endpoint, or `.default` of each resource)."""
    graph = tuple(s for s in app.delegated if graph_scope_name(s) is not None)
    api = tuple(s for s in app.delegated if graph_scope_name(s) is None)
    roles = tuple(f"{client_id}: {role}" for client_id, held in app.roles for role in held)
    return ConsentRequest(graph, app.application, api, roles)


def consent_request(config: IdentityConfig, app: RegisteredApp, raw_scope: str) -> ConsentRequest:
    """What the v2.0 endpoint's `scope` asks for; `OAuthError` names a scope that cannot be."""
    everything = configured(config, app)
    result = ConsentRequest()
    for scope in raw_scope.split():
        if scope.casefold() in OIDC_SCOPES:
            result = replace(result, oidc=_unique(result.oidc, (scope.casefold(),)))
            continue
        name = graph_scope_name(scope)
        if name is not None and name.casefold() == DEFAULT_SCOPE:
            result = replace(
                result,
                graph_delegated=_unique(result.graph_delegated, everything.graph_delegated),
                graph_application=_unique(result.graph_application, everything.graph_application),
            )
        elif name is not None:
            result = replace(result, graph_delegated=_unique(result.graph_delegated, (name,)))
        else:
            result = _with_api_scope(config, app, everything, result, scope)
    if not result.lines():
        raise OAuthError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        )
    return result


def _with_api_scope(
    config: IdentityConfig,
    app: RegisteredApp,
    everything: ConsentRequest,
    result: ConsentRequest,
    scope: str,
) -> ConsentRequest:
    prefix, _, name = scope.rpartition("/")
    api = config.api(prefix) if prefix else None
    if api is None:
        raise OAuthError(
            "invalid_resource",
            500011,
            f"The resource principal named {prefix or scope} was not found in the tenant.",
        )
    if name.casefold() == DEFAULT_SCOPE:
        on_api = tuple(
            s
            for s in everything.api_delegated
            if (named := config.api_scope(s)) is not None and named[0].client_id == api.client_id
        )
        roles = tuple(f"{api.client_id}: {role}" for role in app.roles_on(api.client_id))
        return replace(
            result,
            api_delegated=_unique(result.api_delegated, on_api),
            api_application=_unique(result.api_application, roles),
        )
    exposed = api.exposed_scope(name)
    if exposed is None:
        raise scope_not_exposed(app.display_name, name, api.client_id)
    return replace(result, api_delegated=_unique(result.api_delegated, (f"{prefix}/{exposed}",)))


def with_admin_consent(
    config: IdentityConfig, client_id: str, consent: ConsentRequest
) -> IdentityConfig:
    """The directory once an admin granted `consent` to the app `client_id`, for everyone."""
    delegated = (*consent.graph_delegated, *consent.api_delegated)

    def known(held: tuple[str, ...], scope: str) -> bool:
        folded = {s.casefold() for s in held}
        return scope.casefold() in folded

    apps = tuple(
        replace(
            app, delegated=(*app.delegated, *(s for s in delegated if not known(app.delegated, s)))
        )
        if app.client_id == client_id
        else app
        for app in config.apps
    )
    users = tuple(
        user
        if user.consented is None
        else replace(
            user,
            consented=(
                *user.consented,
                *(s for s in consent.graph_delegated if not known(user.consented, s)),
            ),
        )
        for user in config.users
    )
    return replace(config, apps=apps, users=users)
