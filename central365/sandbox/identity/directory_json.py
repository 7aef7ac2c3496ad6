"""The directory as JSON: what `GET /_sandbox/identity` answers and `PUT` / `--identity` read.

The shape mirrors the records field by field (docs/sandbox.md, "The directory as JSON"), with
three spellings that read better than the tuples behind them:

- role assignments (`roles` of a user or an app) are an object: client id -> role values,
  e.g. `{"central365-demo": ["Central365.Admin"]}`;
- an app's `app_roles` are objects: `{"value": ..., "allowed_member_types": ["User"],
  "display_name": ..., "description": ...}`;
- lists of strings may also be given as one space-separated string (`"delegated": "A B"`);
- a group is `{"display_name": "Staff", "members": ["ann@contoso.test", "<group id>"]}`, its
  `id` derived from the name when not given (members: users by UPN or id, nested groups by id).

Every problem is a `ValueError` naming the field; the directory's own rules (unknown roles,
repeated ids) are `IdentityConfig`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from central365.sandbox.identity.groups import DirectoryGroup
from central365.sandbox.identity.registry import (
    AppRole,
    Assignments,
    DemoUser,
    IdentityConfig,
    RegisteredApp,
)

_TUPLE_FIELDS = frozenset(
    {
        "secrets",
        "certificates",
        "redirect_uris",
        "delegated",
        "application",
        "consented",
        "api_scopes",
        "identifier_uris",
        "optional_claims",
        "members",
    }
)
_BOOL_FIELDS = frozenset({"public_client", "directory_admin"})


def config_to_json(config: IdentityConfig) -> dict[str, Any]:
    return {
        "tenant_id": config.tenant_id,
        "domains": list(config.domains),
        "apps": [_plain(app) for app in config.apps],
        "users": [_plain(user) for user in config.users],
        "groups": [_plain(group) for group in config.groups],
        "access_token_lifetime_s": config.access_token_lifetime_s,
        "refresh_token_lifetime_s": config.refresh_token_lifetime_s,
        "code_lifetime_s": config.code_lifetime_s,
        "device_code_lifetime_s": config.device_code_lifetime_s,
        "device_poll_interval_s": config.device_poll_interval_s,
    }


def config_changes(config: IdentityConfig, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The `IdentityConfig` fields `changes` sets, parsed; ValueError names bad input."""
    if not isinstance(changes, Mapping):
        raise ValueError("the identity settings must be a JSON object")
    known = {f.name for f in fields(config)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(f"unknown identity settings: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, raw in changes.items():
        if name == "apps":
            values[name] = tuple(_record(RegisteredApp, a, "app") for a in _list(raw, name))
        elif name == "users":
            values[name] = tuple(_record(DemoUser, u, "user") for u in _list(raw, name))
        elif name == "groups":
            values[name] = tuple(_record(DirectoryGroup, g, "group") for g in _list(raw, name))
        elif name == "domains":
            values[name] = tuple(_strings(raw, name))
        elif name == "tenant_id":
            if not isinstance(raw, str):
                raise ValueError("tenant_id must be a string")
            values[name] = raw
        else:
            values[name] = raw
    return values


def _plain(record: RegisteredApp | DemoUser | DirectoryGroup) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.name == "roles":
            out[f.name] = {client_id: list(held) for client_id, held in value}
        elif f.name == "app_roles":
            out[f.name] = [
                {
                    "value": role.value,
                    "allowed_member_types": list(role.allowed_member_types),
                    "display_name": role.display_name,
                    "description": role.description,
                }
                for role in value
            ]
        else:
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


def _assignments(raw: Any, name: str) -> Assignments:
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise ValueError(
            f'{name} must be an object: app client id -> role values, e.g. {{"app": ["Role"]}}'
        )
    return tuple(
        (client_id, tuple(_strings(held, f"{name}.{client_id}"))) for client_id, held in raw.items()
    )


def _app_role(raw: Any, name: str) -> AppRole:
    if not isinstance(raw, Mapping):
        raise ValueError(f"each of {name} must be a JSON object with a value")
    unknown = sorted(set(raw) - {f.name for f in fields(AppRole)})
    if unknown:
        raise ValueError(f"unknown {name} fields: {', '.join(unknown)}")
    value = raw.get("value")
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise ValueError(f"{name}.value must be a role name without spaces")
    texts = {k: raw.get(k, "") for k in ("display_name", "description")}
    if not all(isinstance(t, str) for t in texts.values()):
        raise ValueError(f"{name}.display_name and description must be strings")
    members = tuple(
        _strings(raw.get("allowed_member_types", ["User"]), f"{name}.allowed_member_types")
    )
    return AppRole(value, members, texts["display_name"], texts["description"])


_R = TypeVar("_R", RegisteredApp, DemoUser, DirectoryGroup)


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
        elif key in _BOOL_FIELDS:
            if not isinstance(value, bool):
                raise ValueError(f"{what}.{key} must be true or false")
            values[key] = value
        elif key == "roles":
            values[key] = _assignments(value, f"{what}.roles")
        elif key == "app_roles":
            values[key] = tuple(_app_role(r, f"{what}.app_roles") for r in _list(value, key))
        elif key == "access_token_version":
            if value is None:  # Entra's null: version 1
                value = 1
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{what}.access_token_version must be 1 or 2")
            values[key] = value
        elif not isinstance(value, str):
            raise ValueError(f"{what}.{key} must be a string")
        else:
            values[key] = value
    try:
        return kind(**values)
    except TypeError as exc:
        raise ValueError(f"{what}: {exc}") from None
