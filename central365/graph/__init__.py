"""Microsoft Graph adapter: the `Mailbox` and `ContactsFolder` ports over Graph v1.0.

Layers, lowest first: `errors` (statuses/OData codes → `central365.core.errors`, `classify`),
`throttle` (Retry-After, backoff, the shared fence, the run's deadline), `batch` (pure `$batch`
payloads), `decide` (pure: what each answer means for each write) and `breaker` (pure: the
circuit breaker and the batch shape), `client` (typed calls on an injected `httpx.Client`),
`auth` (tokens as `httpx.Auth`), `rounds` (one write's bookkeeping), then `folder` and
`mailbox`.  Importing this package builds nothing and loads nothing heavy: the names below are
imported when first used (PEP 562), so `central365.graph.errors` — the one error translator,
which the in-memory fake shares — costs no msal import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from central365.graph.auth import (
        ClientCredentialsAuth,
        DeviceCodeAuth,
        StaticTokenAuth,
        certificate_credential,
        pfx_credential,
    )
    from central365.graph.batch import BatchStrategy
    from central365.graph.client import GraphClient
    from central365.graph.folder import GraphFolder
    from central365.graph.mailbox import DEFAULT_BASE_URL, GraphMailbox, connect
    from central365.graph.throttle import RetryPolicy

#: Where each exported name lives.
_EXPORTS = {
    "ClientCredentialsAuth": "auth",
    "DeviceCodeAuth": "auth",
    "StaticTokenAuth": "auth",
    "certificate_credential": "auth",
    "pfx_credential": "auth",
    "BatchStrategy": "batch",
    "GraphClient": "client",
    "GraphFolder": "folder",
    "DEFAULT_BASE_URL": "mailbox",
    "GraphMailbox": "mailbox",
    "connect": "mailbox",
    "RetryPolicy": "throttle",
}

__all__ = [
    "DEFAULT_BASE_URL",
    "BatchStrategy",
    "ClientCredentialsAuth",
    "DeviceCodeAuth",
    "GraphClient",
    "GraphFolder",
    "GraphMailbox",
    "RetryPolicy",
    "StaticTokenAuth",
    "certificate_credential",
    "connect",
    "pfx_credential",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
