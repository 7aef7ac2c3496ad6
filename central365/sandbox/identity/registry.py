"""Who the sandbox's identity platform knows: its tenant, registered apps and demo users.

`IdentityConfig` is the whole directory as one frozen value, so the admin API can swap it
atomically (`PUT /_sandbox/identity`) and the CLI can load it from a JSON file.  It owns the
rules that depend only on the directory: redirect URIs, scope spelling, who holds what.

The consent model is deliberately small (docs/sandbox.md, "Identity platform"):

- an app lists the delegated permissions it was granted (admin consent for everyone) and the
  application permissions (app roles) it holds;
- a user may carry their own grant (`consented`) that replaces the app's list for them, which
  is how the "Read Only" demo user gets a token without `Contacts.ReadWrite`;
- the sandbox never shows a consent prompt: a token carries every permission granted to that
  user, like Entra's v2 endpoint does, and requesting a permission the app was never granted
  is refused (`consent_required`).

App roles and the app's own API (docs/sandbox.md, "App roles and the app's API"):

- an app defines `app_roles` (value, allowed member types `User` / `Application`) and exposes
  delegated `api_scopes` under its identifier URIs (`api://<client id>` when none are given);
- a user's or app's `roles` map the client id of the app defining them to the values held
  there (app role assignments); `directory_admin`: may grant tenant-wide admin consent;
- an app's `delegated` list names Graph permissions by their short name and permissions on a
  sandbox API by their full URI (`api://central365-demo/Runs.ReadWrite`); a user's `consented`
  list narrows the Graph part only (their grant on the sandbox's own APIs is the app's).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from central365.sandbox.identity.groups import DirectoryGroup, group_problems

GRAPH_RESOURCE = "https://graph.microsoft.com"
#: Microsoft Graph's application id: tokens may name it as `aud`, scopes may use it as prefix.
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_DEFAULT_SCOPE = f"{GRAPH_RESOURCE}/.default"
#: OpenID Connect scopes: about the sign-in, never permissions on Graph (reference §5.2).
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})

DEFAULT_TENANT_ID = "c3650000-5a4d-4b0c-9d1e-0000000c0de5"
DEFAULT_DOMAIN = "contoso.test"
DEFAULT_CLIENT_ID = "central365-demo"
DEFAULT_CLIENT_SECRET = "demo-secret"  # the published demo secret
#: The demo's script app: calls the demo app's API with its own credentials.
SCRIPT_CLIENT_ID = "central365-script"
SCRIPT_CLIENT_SECRET = "script-secret"  # published like the demo secret
#: The demo app's app roles and the delegated scope its API exposes.
ADMIN_ROLE = "Central365.Admin"
SYNC_ROLE = "Central365.Sync"
DEFAULT_API_SCOPE = "Runs.ReadWrite"
DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:*/auth/callback",
    "https://127.0.0.1:*/auth/callback",
    "http://localhost:*/auth/callback",
    "https://localhost:*/auth/callback",
)
#: Namespace of the sandbox's derived object ids (stable across runs, so demos repeat).
_OID_NAMESPACE = uuid.UUID("6f1d3c2a-8b4e-4c55-9a0f-3e2d1c0b9a87")


def derived_oid(kind: str, name: str) -> str:
    """A stable object id for a user or service principal named `name`."""
    return str(uuid.uuid5(_OID_NAMESPACE, f"{kind}:{name.casefold()}"))


USER_MEMBERS = "User"
APPLICATION_MEMBERS = "Application"
MEMBER_TYPES = (USER_MEMBERS, APPLICATION_MEMBERS)
#: Optional access-token claims the sandbox can add when an API's registration asks for them.
OPTIONAL_CLAIMS = ("idtyp",)

#: App role assignments: (client id of the app defining the roles, role values held there).
Assignments = tuple[tuple[str, tuple[str, ...]], ...]


def held_roles(assignments: Assignments, client_id: str) -> tuple[str, ...]:
    """The role values `assignments` hold on the app `client_id` (case-insensitive id)."""
    folded = client_id.casefold()
    return next((values for app, values in assignments if app.casefold() == folded), ())


@dataclass(frozen=True)
class AppRole:
    """An app role an app defines (Entra's `appRoles`); `value` is what `roles` claims say.

    `allowed_member_types` says who may be assigned it: people (`User`), client apps
    (`Application`, an application permission on this app's API), or both.
    """

    value: str
    allowed_member_types: tuple[str, ...] = (USER_MEMBERS,)
    display_name: str = ""
    description: str = ""

    @property
    def title(self) -> str:
        return self.display_name or self.value

    def allows(self, member_type: str) -> bool:
        return member_type in self.allowed_member_types


@dataclass(frozen=True)
class DemoUser:
    """A person who can sign in.  `username` is the UPN, the mailbox `/me` stands for."""

    name: str
    username: str
    oid: str = ""
    #: This user's own grant of delegated Graph permissions; None = the app's list.
    consented: tuple[str, ...] | None = None
    #: App roles assigned to this user, per app (client id) defining them.
    roles: Assignments = ()
    #: Holds a directory role that may grant tenant-wide admin consent (Global Administrator).
    directory_admin: bool = False

    def __post_init__(self) -> None:
        if not self.oid:
            object.__setattr__(self, "oid", derived_oid("user", self.username))

    def roles_on(self, client_id: str) -> tuple[str, ...]:
        return held_roles(self.roles, client_id)


@dataclass(frozen=True)
class RegisteredApp:
    """An app registration (and its service principal) in the sandbox tenant.

    `secrets` and `certificates` (PEM public certificates) authenticate it at the token
    endpoint.  `redirect_uris` are exact URIs or patterns where `*` stands for any characters
    within one URL part (e.g. any port).  `public_client` allows token requests without a
    credential (device code flow, auth code flow from a public client).

    As an API: `app_roles` it defines, `api_scopes` it exposes under `identifier_uris`, and
    `access_token_version` (Entra's `accessTokenAcceptedVersion`: 1, the default, or 2) which
    shapes the tokens issued for it.  As a client: `roles` it holds on other apps.
    """

    client_id: str
    display_name: str = "central365"
    secrets: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    redirect_uris: tuple[str, ...] = ()
    delegated: tuple[str, ...] = ()
    application: tuple[str, ...] = ()
    public_client: bool = True
    oid: str = ""
    app_roles: tuple[AppRole, ...] = ()
    api_scopes: tuple[str, ...] = ()
    identifier_uris: tuple[str, ...] = ()
    access_token_version: int = 1
    optional_claims: tuple[str, ...] = ()
    roles: Assignments = ()

    def __post_init__(self) -> None:
        if not self.oid:
            object.__setattr__(self, "oid", derived_oid("app", self.client_id))

    @property
    def confidential(self) -> bool:
        return bool(self.secrets or self.certificates)

    @property
    def api_identifiers(self) -> tuple[str, ...]:
        """The identifier URIs scopes on this API may start with (`api://<client id>` unset)."""
        return self.identifier_uris or (f"api://{self.client_id}",)

    def named_by(self, prefix: str) -> bool:
        """Whether `prefix` (a scope without its last segment) names this API."""
        folded = prefix.casefold()
        return folded == self.client_id.casefold() or folded in {
            u.casefold() for u in self.api_identifiers
        }

    def exposed_scope(self, name: str) -> str | None:
        """This API's delegated scope called `name` (case-insensitive), as registered."""
        folded = name.casefold()
        return next((s for s in self.api_scopes if s.casefold() == folded), None)

    def role(self, value: str) -> AppRole | None:
        return next((r for r in self.app_roles if r.value == value), None)

    def roles_on(self, client_id: str) -> tuple[str, ...]:
        return held_roles(self.roles, client_id)

    def redirect_allowed(self, uri: str) -> bool:
        return any(_redirect_pattern(p).fullmatch(uri) for p in self.redirect_uris)

    def knows_delegated(self, scope: str) -> bool:
        return scope.casefold() in {s.casefold() for s in self.delegated}


def _redirect_pattern(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(chunk) for chunk in pattern.split("*"))
    return re.compile("[^/?#@]*".join(parts))


def default_apps() -> tuple[RegisteredApp, ...]:
    """The demo app (web app and its own API) and a script that calls that API as itself."""
    return (
        RegisteredApp(
            client_id=DEFAULT_CLIENT_ID,
            display_name="central365 demo",
            secrets=(DEFAULT_CLIENT_SECRET,),
            redirect_uris=DEFAULT_REDIRECT_URIS,
            delegated=(
                "Contacts.ReadWrite",
                "User.Read",
                f"api://{DEFAULT_CLIENT_ID}/{DEFAULT_API_SCOPE}",
            ),
            application=("Contacts.ReadWrite",),
            app_roles=(
                AppRole(
                    ADMIN_ROLE,
                    (USER_MEMBERS,),
                    "Administrator",
                    "Changes the settings and sees every run and every mailbox's history.",
                ),
                AppRole(
                    SYNC_ROLE,
                    MEMBER_TYPES,
                    "Synchroniser",
                    "Starts runs in app-only mode.",
                ),
            ),
            api_scopes=(DEFAULT_API_SCOPE,),
            access_token_version=2,
            optional_claims=("idtyp",),
        ),
        RegisteredApp(
            client_id=SCRIPT_CLIENT_ID,
            display_name="central365 script",
            secrets=(SCRIPT_CLIENT_SECRET,),
            public_client=False,
            roles=((DEFAULT_CLIENT_ID, (SYNC_ROLE,)),),
        ),
    )


def default_users() -> tuple[DemoUser, ...]:
    return (
        DemoUser(
            name="Demo User",
            username=f"demo@{DEFAULT_DOMAIN}",
            roles=((DEFAULT_CLIENT_ID, (ADMIN_ROLE,)),),
            directory_admin=True,
        ),
        DemoUser(
            name="Staff User",
            username=f"staff@{DEFAULT_DOMAIN}",
            consented=("Contacts.ReadWrite", "User.Read"),
        ),
        DemoUser(
            name="Read Only",
            username=f"readonly@{DEFAULT_DOMAIN}",
            consented=("Contacts.Read", "User.Read"),
        ),
    )


@dataclass(frozen=True)
class IdentityConfig:
    """The sandbox tenant's directory and token lifetimes (seconds)."""

    tenant_id: str = DEFAULT_TENANT_ID
    domains: tuple[str, ...] = (DEFAULT_DOMAIN,)
    apps: tuple[RegisteredApp, ...] = field(default_factory=default_apps)
    users: tuple[DemoUser, ...] = field(default_factory=default_users)
    #: Groups of users (and of groups): what `groups/{id}/transitiveMembers` reads.
    groups: tuple[DirectoryGroup, ...] = ()
    access_token_lifetime_s: int = 3600
    refresh_token_lifetime_s: int = 90 * 24 * 3600
    code_lifetime_s: int = 600
    device_code_lifetime_s: int = 900
    device_poll_interval_s: int = 5

    def __post_init__(self) -> None:
        problems: list[str] = []
        try:
            uuid.UUID(self.tenant_id)
        except ValueError:
            problems.append(f"tenant_id {self.tenant_id!r} is not a GUID")
        for name in (
            "access_token_lifetime_s",
            "refresh_token_lifetime_s",
            "code_lifetime_s",
            "device_code_lifetime_s",
            "device_poll_interval_s",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                problems.append(f"{name} must be a positive whole number of seconds")
        problems += _duplicates("client_id", (a.client_id for a in self.apps))
        problems += _duplicates("username", (u.username for u in self.users))
        problems += _duplicates("user oid", (u.oid for u in self.users))
        problems += _duplicates(
            "identifier URI", (uri for a in self.apps if a.api_scopes for uri in a.api_identifiers)
        )
        problems += self._assignment_problems()
        problems += self._delegated_problems()
        problems += group_problems(self.groups, self.username_of)
        if problems:
            raise ValueError("; ".join(problems))

    # -- look-ups ----------------------------------------------------------------------------

    def app(self, client_id: str) -> RegisteredApp | None:
        return next((a for a in self.apps if a.client_id == client_id), None)

    def user(self, key: str) -> DemoUser | None:
        """A user by object id or username (case-insensitive)."""
        folded = key.casefold()
        return next(
            (u for u in self.users if folded in (u.oid.casefold(), u.username.casefold())), None
        )

    def username_of(self, key: str) -> str | None:
        """The UPN of the user with this object id or username (a group member's key)."""
        found = self.user(key)
        return found.username if found is not None else None

    def knows_tenant(self, segment: str) -> bool:
        folded = segment.casefold()
        return folded == self.tenant_id.casefold() or folded in {d.casefold() for d in self.domains}

    def api(self, prefix: str) -> RegisteredApp | None:
        """The registered app whose API `prefix` (identifier URI or client id) names."""
        return next((a for a in self.apps if a.named_by(prefix)), None)

    def delegated_grant(self, app: RegisteredApp, user: DemoUser) -> tuple[str, ...]:
        """The delegated Graph permissions `user` holds for `app` (a Graph token's `scp`)."""
        own = user.consented if user.consented is not None else app.delegated
        return tuple(s for s in own if graph_scope_name(s) is not None)

    def api_grant(self, app: RegisteredApp, user: DemoUser, api: RegisteredApp) -> tuple[str, ...]:
        """The scopes of `api` that `app` may use for `user` (an API token's `scp`).

        The app's tenant-wide grant, plus what the user consented to themselves.
        """
        granted: list[str] = []
        for entry in (*app.delegated, *(user.consented or ())):
            named = self.api_scope(entry)
            if (
                named is not None
                and named[0].client_id == api.client_id
                and named[1] not in granted
            ):
                granted.append(named[1])
        return tuple(granted)

    def api_scope(self, scope: str) -> tuple[RegisteredApp, str] | None:
        """(API, exposed scope name) for a full scope on a registered API, else None."""
        prefix, slash, name = scope.rpartition("/")
        api = self.api(prefix) if slash else None
        exposed = api.exposed_scope(name) if api is not None else None
        return (api, exposed) if api is not None and exposed is not None else None

    # -- checks ------------------------------------------------------------------------------

    def _assignment_problems(self) -> list[str]:
        """Role assignments must name registered apps, their roles, for the right members."""
        holders: list[tuple[str, Assignments, str]] = [
            (f"user {u.username!r}", u.roles, USER_MEMBERS) for u in self.users
        ]
        holders += [(f"app {a.client_id!r}", a.roles, APPLICATION_MEMBERS) for a in self.apps]
        problems: list[str] = []
        for holder, assignments, member_type in holders:
            for client_id, values in assignments:
                target = self.app(client_id)
                if target is None:
                    problems.append(f"{holder} holds roles on {client_id!r}, not a registered app")
                    continue
                for value in values:
                    role = target.role(value)
                    if role is None:
                        known = ", ".join(r.value for r in target.app_roles) or "none"
                        problems.append(
                            f"{holder} holds the unknown role {value!r} of app {client_id!r} "
                            f"(its roles: {known})"
                        )
                    elif not role.allows(member_type):
                        problems.append(
                            f"{holder} holds the role {value!r} of app {client_id!r}, which "
                            f"cannot be assigned to members of type {member_type}"
                        )
        for app in self.apps:
            problems += _duplicates(f"app {app.client_id!r} role", (r.value for r in app.app_roles))
            for role in app.app_roles:
                if not role.allowed_member_types or not set(role.allowed_member_types) <= set(
                    MEMBER_TYPES
                ):
                    problems.append(
                        f"app {app.client_id!r} role {role.value!r}: allowed_member_types must "
                        "be User, Application or both"
                    )
            if app.access_token_version not in (1, 2):
                problems.append(f"app {app.client_id!r}: access_token_version must be 1 or 2")
            unknown = sorted(set(app.optional_claims) - set(OPTIONAL_CLAIMS))
            if unknown:
                problems.append(
                    f"app {app.client_id!r}: unsupported optional claims {', '.join(unknown)} "
                    f"(supported: {', '.join(OPTIONAL_CLAIMS)})"
                )
        return problems

    def _delegated_problems(self) -> list[str]:
        """Grants naming a permission outside Graph must name a scope a registered API exposes."""
        grants = [(f"app {a.client_id!r}", a.delegated) for a in self.apps]
        grants += [(f"user {u.username!r}", u.consented or ()) for u in self.users]
        return [
            f"{holder} is granted {scope!r}, which no registered API exposes"
            for holder, scopes in grants
            for scope in scopes
            if graph_scope_name(scope) is None and self.api_scope(scope) is None
        ]

    # -- JSON --------------------------------------------------------------------------------
    # `directory_json` builds this module's records, so it is imported where it is used.

    def to_json(self) -> dict[str, Any]:
        from central365.sandbox.identity.directory_json import config_to_json

        return config_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IdentityConfig:
        """Build from `to_json()`-shaped data; missing fields keep their defaults."""
        return cls().updated(data)

    def updated(self, changes: Mapping[str, Any]) -> IdentityConfig:
        """A copy with the given top-level fields replaced; ValueError names bad input."""
        from central365.sandbox.identity.directory_json import config_changes

        return replace(self, **config_changes(self, changes))


def _duplicates(what: str, values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value.casefold() in seen:
            repeated.append(f"{what} {value!r} is repeated")
        seen.add(value.casefold())
    return repeated


def graph_scope_name(scope: str) -> str | None:
    """`Contacts.Read` for `Contacts.Read` or its Graph-prefixed forms; None for another API."""
    lowered = scope.casefold()
    for prefix in (f"{GRAPH_RESOURCE}/", f"{GRAPH_APP_ID}/"):
        if lowered.startswith(prefix):
            return scope[len(prefix) :]
    if "/" in scope or ":" in scope:
        return None
    return scope
