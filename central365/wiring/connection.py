"""A neutral, frozen description of one connection: Central → one Office 365 contacts folder.

Both fronts describe the same things in their own words — the command line in `config.Settings`
(TOML and `CENTRAL365_*`), the homepage in its stored `AppSettings` and the signed-in person —
and each turns them into a `Connection` (`central365.wiring.settings`).  `central365.wiring.open`
is then the only code that turns a `Connection` into a source, a mailbox and a `SyncService`.

Must not: read files, call the network or hold a live object: a `Connection` is values only,
so a worker can receive one and open it itself.  Secrets never appear in a `repr`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from central365.core.guards import GuardThresholds
from central365.core.policy import DeletedContacts, FieldPolicy
from central365.core.ports import DEFAULT_RUN_DEADLINE

GRAPH_URL = "https://graph.microsoft.com/v1.0"
AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_TIMEOUT = 30.0


class SignInMode(StrEnum):
    """How central365 itself gets a Graph token (`CENTRAL365_AUTH`).

    Not to be confused with the homepage's stored `appdb.AuthChoice`, which says *whose mailbox*
    the homepage writes into (the signed-in person's, or a named one with the app's token).
    """

    APP = "app"  # client credentials (secret or certificate), /users/{mailbox}
    DEVICE = "device"  # delegated device-code sign-in with a persisted token cache
    SANDBOX = "sandbox"  # a fixed bearer token for the local sandbox


@dataclass(frozen=True, slots=True)
class Credential:
    """The app registration's credential: a secret, or a certificate (a file, or stored PEM).

    A certificate wins over a secret.  `certificate_file` is a .pfx/.p12 or a PEM file holding
    the private key and the certificate; `certificate_pem` is that PEM text as the homepage
    stores it.  `thumbprint` is computed from the certificate when not given.
    """

    secret: str | None = field(default=None, repr=False)
    certificate_file: Path | None = None
    certificate_pem: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    thumbprint: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.secret or self.certificate_file or self.certificate_pem)


@dataclass(frozen=True, slots=True)
class SignIn:
    """Microsoft 365 sign-in: the mode, the tenant and app registration, and where to reach it.

    `mode` is None when the caller brings its own token (the homepage's person or app tokens
    come from its identity client): `open_service` is then given that `httpx.Auth`.
    `ca_bundle` is trusted for the authority and for Graph alike (a local sandbox serves both).
    """

    mode: SignInMode | None
    tenant: str = "organizations"
    client_id: str | None = None
    credential: Credential = field(default_factory=Credential)
    authority_host: str = AUTHORITY_HOST
    ca_bundle: Path | None = None
    token_cache: Path | None = None  # device sign-in's cache file
    static_token: str = field(default="", repr=False)  # sandbox sign-in's bearer token


@dataclass(frozen=True, slots=True)
class Central:
    """Where Central's contacts are: `csv:PATH` or a database URL, the table, the column names.

    `mapping` (canonical column → the source's name) wins over `mapping_file`.
    """

    location: str
    table: str = "contacts"
    mapping_file: Path | None = None
    mapping: Mapping[str, str] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.mapping is not None:
            object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))


@dataclass(frozen=True, slots=True)
class Connection:
    """Everything needed to plan and write one folder of one mailbox.

    `mailbox` is what Graph's path wants (`me`, a UPN or an id); `label` is what people see and
    History records (the address), defaulting to `mailbox`.  `central` is None for commands that
    only talk to Office 365 (`folders`).
    """

    central: Central | None
    sign_in: SignIn
    mailbox: str = "me"
    folder: str = "Central Contacts"
    graph_url: str = GRAPH_URL
    timeout: float = DEFAULT_TIMEOUT
    run_deadline: float = DEFAULT_RUN_DEADLINE
    label: str | None = None
    #: How much one run may change before it must be allowed (None: the defaults).
    guard_thresholds: GuardThresholds | None = None
    #: How each synced field is written (`core.policy`; a field not named: `overwrite`).
    field_policies: Mapping[str, FieldPolicy] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    #: What a contact central365 wrote and a person deleted in Outlook becomes.
    deleted_contacts: DeletedContacts = DeletedContacts.RECREATE

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_policies", MappingProxyType(dict(self.field_policies)))

    @property
    def mailbox_label(self) -> str:
        return self.label or self.mailbox

    @property
    def verify(self) -> bool | str:
        """What the Graph client verifies TLS with: the CA bundle when one is configured."""
        return str(self.sign_in.ca_bundle) if self.sign_in.ca_bundle else True
