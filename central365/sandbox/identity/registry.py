"""Who the sandbox's identity platform knows: its tenant, registered apps and demo users.

`IdentityConfig` is the whole directory as one frozen value, so the admin API can swap it
atomically (`PUT /_sandbox/identity`) and the CLI can load it from a JSON file.  It also owns
the rules that depend only on the directory: which redirect URIs an app accepts, how a Graph
scope is spelled, and which delegated permissions a user ends up with.

The consent model is deliberately small (docs/sandbox.md, "Identity platform"):

- an app lists the delegated permissions it was granted (admin consent for everyone) and the
  application permissions (app roles) it holds;
- a user may carry their own grant (`consented`) that replaces the app's list for them, which
  is how the "Read Only" demo user gets a token without `Contacts.ReadWrite`;
- the sandbox never shows a consent prompt: a token carries every permission granted to that
  user, like Entra's v2 endpoint does, and requesting a permission the app was never granted
  is refused (`consent_required`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

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


@dataclass(frozen=True)
class DemoUser:
    """A person who can sign in.  `username` is the UPN, the mailbox `/me` stands for."""

    name: str
    username: str
    oid: str = ""
    #: This user's own grant of delegated permissions; None = the app's list.
    consented: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.oid:
            object.__setattr__(self, "oid", derived_oid("user", self.username))


@dataclass(frozen=True)
class RegisteredApp:
    """An app registration (and its service principal) in the sandbox tenant.

    `secrets` and `certificates` (PEM public certificates) authenticate it at the token
    endpoint.  `redirect_uris` are exact URIs or patterns where `*` stands for any characters
    within one URL part (e.g. any port).  `public_client` allows token requests without a
    credential (device code flow, auth code flow from a public client).
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

    def __post_init__(self) -> None:
        if not self.oid:
            object.__setattr__(self, "oid", derived_oid("app", self.client_id))

    @property
    def confidential(self) -> bool:
        return bool(self.secrets or self.certificates)

    def redirect_allowed(self, uri: str) -> bool:
        return any(_redirect_pattern(p).fullmatch(uri) for p in self.redirect_uris)

    def knows_delegated(self, scope: str) -> bool:
        return scope.casefold() in {s.casefold() for s in self.delegated}


def _redirect_pattern(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(chunk) for chunk in pattern.split("*"))
    return re.compile("[^/?#@]*".join(parts))


def default_apps() -> tuple[RegisteredApp, ...]:
    return (
        RegisteredApp(
            client_id=DEFAULT_CLIENT_ID,
            display_name="central365 demo",
            secrets=(DEFAULT_CLIENT_SECRET,),
            redirect_uris=DEFAULT_REDIRECT_URIS,
            delegated=("Contacts.ReadWrite", "User.Read"),
            application=("Contacts.ReadWrite",),
        ),
    )


def default_users() -> tuple[DemoUser, ...]:
    return (
        DemoUser(name="Demo User", username=f"demo@{DEFAULT_DOMAIN}"),
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

    def knows_tenant(self, segment: str) -> bool:
        folded = segment.casefold()
        return folded == self.tenant_id.casefold() or folded in {d.casefold() for d in self.domains}

    def delegated_grant(self, app: RegisteredApp, user: DemoUser) -> tuple[str, ...]:
        """The delegated permissions `user` holds for `app` (what `scp` will say)."""
        return user.consented if user.consented is not None else app.delegated

    # -- JSON --------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "domains": list(self.domains),
            "apps": [_plain(app) for app in self.apps],
            "users": [_plain(user) for user in self.users],
            "access_token_lifetime_s": self.access_token_lifetime_s,
            "refresh_token_lifetime_s": self.refresh_token_lifetime_s,
            "code_lifetime_s": self.code_lifetime_s,
            "device_code_lifetime_s": self.device_code_lifetime_s,
            "device_poll_interval_s": self.device_poll_interval_s,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IdentityConfig:
        """Build from `to_json()`-shaped data; missing fields keep their defaults."""
        return cls().updated(data)

    def updated(self, changes: Mapping[str, Any]) -> IdentityConfig:
        """A copy with the given top-level fields replaced; ValueError names bad input."""
        if not isinstance(changes, Mapping):
            raise ValueError("the identity settings must be a JSON object")
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown identity settings: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, raw in changes.items():
            if name == "apps":
                values[name] = tuple(_record(RegisteredApp, a, "app") for a in _list(raw, name))
            elif name == "users":
                values[name] = tuple(_record(DemoUser, u, "user") for u in _list(raw, name))
            elif name == "domains":
                values[name] = tuple(_strings(raw, name))
            elif name == "tenant_id":
                if not isinstance(raw, str):
                    raise ValueError("tenant_id must be a string")
                values[name] = raw
            else:
                values[name] = raw
        return replace(self, **values)


def _duplicates(what: str, values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value.casefold() in seen:
            repeated.append(f"{what} {value!r} is repeated")
        seen.add(value.casefold())
    return repeated


def _plain(record: RegisteredApp | DemoUser) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def _list(raw: Any, name: str) -> list[Any]:
    if not isinstance(raw, list):
        raise ValueError(f"{name} must be a list")
    return raw


def _strings(raw: Any, name: str) -> list[str]:
    if isinstance(raw, str):
        return raw.split()
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise ValueError(f"{name} must be a list of strings (or one space-separated string)")
    return list(raw)


_R = TypeVar("_R", RegisteredApp, DemoUser)

_TUPLE_FIELDS = {
    "secrets",
    "certificates",
    "redirect_uris",
    "delegated",
    "application",
    "consented",
}


def _record(kind: type[_R], raw: Any, what: str) -> _R:
    if not isinstance(raw, Mapping):
        raise ValueError(f"each {what} must be a JSON object")
    names = {f.name for f in fields(kind)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"unknown {what} fields: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _TUPLE_FIELDS:
            values[key] = None if value is None else tuple(_strings(value, f"{what}.{key}"))
        elif key == "public_client":
            if not isinstance(value, bool):
                raise ValueError(f"{what}.public_client must be true or false")
            values[key] = value
        elif not isinstance(value, str):
            raise ValueError(f"{what}.{key} must be a string")
        else:
            values[key] = value
    try:
        return kind(**values)
    except TypeError as exc:
        raise ValueError(f"{what}: {exc}") from None


def graph_scope_name(scope: str) -> str | None:
    """`Contacts.Read` for `Contacts.Read` or its Graph-prefixed forms; None for another API."""
    lowered = scope.casefold()
    for prefix in (f"{GRAPH_RESOURCE}/", f"{GRAPH_APP_ID}/"):
        if lowered.startswith(prefix):
            return scope[len(prefix) :]
    if "/" in scope or ":" in scope:
        return None
    return scope
