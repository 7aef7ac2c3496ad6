"""Microsoft Graph adapter: the `Mailbox` and `ContactsFolder` ports over Graph v1.0.

Layers, lowest first: `errors` (statuses/OData codes → `central365.errors`, `classify`),
`throttle` (Retry-After, backoff, the shared fence, the run's deadline), `batch` (pure `$batch`
payloads), `decide` (pure: what each answer means for each write) and `breaker` (pure: the
circuit breaker and the batch shape), `client` (typed calls on an injected `httpx.Client`),
`auth` (tokens as `httpx.Auth`), `rounds` (one write's bookkeeping), then `folder` and
`mailbox`.  Importing this package builds nothing; `connect()` does, when called.
"""

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
