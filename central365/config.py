"""Settings: parsed once at the edge (CLI entry, app factory) and passed down as plain values.

Sources, lowest priority first: defaults, `central365.toml` (or the file given with `--config`),
then `CENTRAL365_*` environment variables.  Every problem is collected and reported together in
one `ConfigError`, so a person fixes their set-up in one go rather than one error per run.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from central365.core.errors import ConfigError
from central365.core.guards import (
    DEFAULT_CLEAR_PERCENT,
    DEFAULT_DELETE_PERCENT,
    DEFAULT_MIN_CONTACTS,
    DEFAULT_SHRINK_PERCENT,
    DEFAULT_UPDATE_PERCENT,
    MIN_CONTACTS_RANGE,
    PERCENT_RANGE,
    GuardThresholds,
)
from central365.core.policy import DeletedContacts, FieldPolicy, parse_policies
from central365.core.ports import DEFAULT_RUN_DEADLINE
from central365.core.targets import SyncTarget
from central365.smtp.checks import SmtpSecurity, smtp_problems
from central365.wiring.checks import (
    MAX_FOLDER_NAME,
    Draft,
    FieldProblem,
    Rule,
    Setting,
    problems_of,
)
from central365.wiring.connection import AUTHORITY_HOST, GRAPH_URL, SignInMode
from central365.wiring.target_checks import parse_targets

ENV_PREFIX = "CENTRAL365_"
DEFAULT_CONFIG_FILE = Path("central365.toml")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def normal_host(host: str) -> str:
    """A host as the allow-list compares it: lower case, no IPv6 brackets, no trailing dot."""
    return host.strip().casefold().removeprefix("[").removesuffix("]").rstrip(".")


def database_host(url: str) -> str | None:
    """The host of a database URL, as `normal_host` (None when it has none or is unreadable)."""
    # SQLAlchemy loads only here: every command reads the settings, few name a database.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        host = make_url(url).host
    except (ArgumentError, ValueError):
        return None
    return normal_host(host) if host else None


def default_token_cache() -> Path:
    return Path.home() / ".cache" / "central365" / "token-cache.json"


class Settings(BaseModel):
    """Everything central365 is told about Central, Office 365 and sign-in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    central: str | None = Field(default=None, min_length=1)
    central_table: str = "contacts"
    central_mapping: Path | None = None
    graph_url: str = GRAPH_URL
    mailbox: str = Field(default="me", min_length=1)
    folder: str = Field(default="Central Contacts", min_length=1)
    auth: SignInMode = SignInMode.DEVICE
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    client_certificate: Path | None = None
    client_certificate_password: SecretStr | None = None
    client_certificate_thumbprint: str | None = None
    authority_host: str = AUTHORITY_HOST
    sandbox_token: SecretStr = SecretStr("sandbox-token")
    token_cache: Path = Field(default_factory=default_token_cache)
    ca_bundle: Path | None = None
    timeout: float = Field(default=30.0, gt=0, le=600)
    run_deadline: float = Field(default=DEFAULT_RUN_DEADLINE, gt=0, le=7 * 24 * 3600)
    # Guards against mass changes (`core/guards.py`): a sync that passes one must be allowed.
    guard_clear_percent: float = Field(
        default=DEFAULT_CLEAR_PERCENT, ge=PERCENT_RANGE[0], le=PERCENT_RANGE[1]
    )
    guard_update_percent: float = Field(
        default=DEFAULT_UPDATE_PERCENT, ge=PERCENT_RANGE[0], le=PERCENT_RANGE[1]
    )
    guard_shrink_percent: float = Field(
        default=DEFAULT_SHRINK_PERCENT, ge=PERCENT_RANGE[0], le=PERCENT_RANGE[1]
    )
    guard_min_contacts: int = Field(
        default=DEFAULT_MIN_CONTACTS, ge=MIN_CONTACTS_RANGE[0], le=MIN_CONTACTS_RANGE[1]
    )
    #: Deleting orphans (an admin's choice, never a sync's): more than this share of the folder
    #: must be allowed ("I understand", `--allow-mass-change`).
    guard_delete_percent: float = Field(
        default=DEFAULT_DELETE_PERCENT, ge=PERCENT_RANGE[0], le=PERCENT_RANGE[1]
    )
    #: A contact central365 wrote that a person deleted in Outlook: `recreate` or
    #: `respect_deletes` (`core/policy.py`).
    deleted_contacts: DeletedContacts = DeletedContacts.RECREATE
    #: Per-field write policies (`core/policy.py`): `[fields]` of central365.toml, or
    #: `CENTRAL365_FIELDS="mobilePhone=keep_office365_edits, homeAddress.city=never_clear"`.
    fields: dict[str, str] = Field(default_factory=dict)
    # The web app (`central365 serve`).
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: sqlite:///<data_dir>/central365.db
    secret_key: SecretStr | None = None  # default: <data_dir>/secret.key, made on first use
    public_url: str = "http://127.0.0.1:8000"  # where people reach the homepage (redirect URI)
    #: People who are admins of the homepage without the Central365.Admin app role (UPNs or
    #: object ids, case-insensitive): the first admin of a tenant where roles are not assigned.
    admins: tuple[str, ...] = ()
    #: The tenant ids whose people and tokens the homepage accepts, when more than the one
    #: `tenant_id` (which is then the sign-in authority, or `organizations` when unset).
    tenants: tuple[str, ...] = ()

    # Where the Settings page may take Central from (the web never reads other server paths).
    import_dir: Path | None = None  # the only folder whose files the web may name
    central_hosts: tuple[str, ...] | None = None  # default: the start-up Central's host + loopback
    upload_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1)  # a Central export upload's cap
    # Unattended runs (issue 12): `central365 worker`, and the jobs inside `serve`.
    #: The Celery broker (`redis://…` or `amqp://…`); unset: jobs run on `serve`'s own threads.
    broker_url: str | None = None
    #: The queue the jobs go through: installs sharing one broker each name their own.
    queue: str = Field(default="central365", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    #: Where Celery keeps job results; default: the broker when it is Redis, else none.
    result_backend: str | None = None
    #: Mailboxes one `central365 worker` runs at once (threads: the work waits on Graph).
    worker_concurrency: int = Field(default=8, ge=1, le=256)
    #: Mailboxes `serve` runs at once when there is no broker.
    job_threads: int = Field(default=4, ge=1, le=64)
    #: Tries of a mailbox that met a busy folder, throttling or an unreachable Graph.
    job_attempts: int = Field(default=6, ge=1, le=20)
    #: How long a folder's lease lives without renewal: how soon a killed writer's folder frees.
    lease_seconds: float = Field(default=60.0, ge=3, le=3600)
    #: Redis broker: how long a job taken by a worker that then died waits before another
    #: worker runs it (longer than any one mailbox's run).
    job_visibility_timeout: float = Field(default=3600.0, ge=5, le=7 * 24 * 3600)
    #: How often a scheduler looks for due schedules (seconds).
    scheduler_interval: float = Field(default=15.0, ge=0.5, le=600)
    #: The `[targets.NAME]` tables of the settings file, checked (`wiring.target_checks`);
    #: only the file sets them (no `CENTRAL365_TARGETS`).
    targets: tuple[SyncTarget, ...] = ()
    # E-mail alerts to the admins when an unattended run needs a person (`wiring.alerting`):
    # `[smtp]` of central365.toml (host, port, security, username, password, sender,
    # recipients) or `CENTRAL365_SMTP_*`; the Settings page's, once saved there, win.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str | None = None
    smtp_recipients: tuple[str, ...] = ()

    @field_validator("admins", "tenants", "smtp_recipients", mode="before")
    @classmethod
    def _split_words(cls, value: object) -> object:
        """A comma- or space-separated string (environment) or a list (central365.toml)."""
        if isinstance(value, str):
            return tuple(word for word in re.split(r"[\s,;]+", value) if word)
        return value

    @field_validator("fields", mode="before")
    @classmethod
    def _flatten_fields(cls, value: object) -> object:
        """`[fields]` as TOML reads it (`homeAddress.city = …` nests), or the environment's
        `field=policy` pairs separated by commas or spaces, as one flat field → word map."""
        if isinstance(value, str):
            pairs = [p for p in re.split(r"[,\s]+", value) if p]
            return dict(p.partition("=")[::2] for p in pairs)
        if isinstance(value, Mapping):
            return _flat(value)
        return value

    @field_validator("central_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        """`CENTRAL365_CENTRAL_HOSTS` is one string: hosts separated by commas or spaces."""
        if isinstance(value, str):
            return tuple(h for h in re.split(r"[,\s]+", value) if h)
        return value

    @property
    def guard_thresholds(self) -> GuardThresholds:
        """The guards' thresholds as the core takes them."""
        return GuardThresholds(
            clear_percent=self.guard_clear_percent,
            update_percent=self.guard_update_percent,
            shrink_percent=self.guard_shrink_percent,
            min_contacts=self.guard_min_contacts,
            delete_percent=self.guard_delete_percent,
        )

    @property
    def field_policies(self) -> dict[str, FieldPolicy]:
        """The write policies as the core takes them (a field not named: `overwrite`)."""
        return parse_policies(self.fields)[0]

    @property
    def app_database_url(self) -> str:
        """The web app's own database (history, settings, token caches)."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'central365.db').resolve()}"

    @property
    def allowed_central_hosts(self) -> frozenset[str]:
        """The hosts a database URL set on the web may name (lower case, no brackets).

        `central_hosts` when set; otherwise loopback and the host of the start-up Central URL.
        """
        if self.central_hosts is not None:
            return frozenset(normal_host(h) for h in self.central_hosts)
        hosts = set(LOOPBACK_HOSTS)
        if self.central and "://" in self.central:
            host = database_host(self.central)
            if host:
                hosts.add(host)
        return frozenset(hosts)


FIELD_NAMES = tuple(Settings.model_fields)
#: Settings only the settings file gives (tables, not one value an environment variable holds).
FILE_ONLY_FIELDS = frozenset({"targets"})


def _flat(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A TOML table with its sub-tables' keys joined by dots (`homeAddress.city`)."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value if isinstance(value, str) else repr(value)
    return flat


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _problems_of_auth(settings: Settings) -> list[str]:
    problems = [_cli_words(p, settings.auth) for p in problems_of(draft_of(settings))]
    if settings.client_certificate:
        problems += _file_problems("The client certificate", settings.client_certificate)
    if settings.central_mapping:
        problems += _file_problems("The column mapping file", settings.central_mapping)
    if settings.import_dir and not settings.import_dir.is_dir():
        problems.append(f"The import folder {settings.import_dir} is not a folder.")
    problems += [
        f"[fields] in central365.toml or {env_name('fields')}: {p}"
        for p in parse_policies(settings.fields)[1]
    ]
    if not settings.graph_url.startswith(("https://", "http://")):
        problems.append(f"{env_name('graph_url')} must be an http(s) URL.")
    return problems


def draft_of(settings: Settings) -> Draft:
    """The settings as the one connection check (`central365.wiring.checks`) reads them."""
    return Draft(
        mode=settings.auth,
        folder=settings.folder,
        tenant=settings.tenant_id,
        client_id=settings.client_id,
        has_credential=bool(settings.client_secret or settings.client_certificate),
        mailbox=settings.mailbox,
    )


#: The connection check's problems in the command line's words: the variable to set, and how
#: (`{name}` is that setting's `CENTRAL365_*` variable, `{mode}` the sign-in mode).
_CLI_WORDS: dict[tuple[Setting, Rule], str] = {
    (Setting.TENANT, Rule.MISSING): "{tenant_id} is required for app sign-in.",
    (Setting.TENANT, Rule.MALFORMED): (
        "{tenant_id} must be the tenant's own id or domain for app sign-in, not organizations "
        "or common."
    ),
    (Setting.CLIENT_ID, Rule.MISSING): "{client_id} is required for {mode} sign-in.",
    (Setting.CLIENT_ID, Rule.MALFORMED): "{client_id} is one word, such as a GUID.",
    (
        Setting.CREDENTIAL,
        Rule.MISSING,
    ): "Set {client_secret} or {client_certificate} for app sign-in.",
    (Setting.MAILBOX, Rule.MISSING): (
        "App sign-in has no signed-in user: set {mailbox} to the mailbox's address or id."
    ),
    (Setting.MAILBOX, Rule.MALFORMED): (
        "{mailbox} must be me, the mailbox's address (name@domain) or its object id."
    ),
    (Setting.FOLDER, Rule.MISSING): "{folder} is empty: set it to the contacts folder's name.",
    (Setting.FOLDER, Rule.MALFORMED): (
        f"{{folder}}: a folder name has at most {MAX_FOLDER_NAME} characters and no / or \\."
    ),
}


def _cli_words(problem: FieldProblem, mode: SignInMode) -> str:
    """A connection problem in the command line's words."""
    names = {field: env_name(field) for field in FIELD_NAMES}
    return _CLI_WORDS[problem.field, problem.rule].format(mode=mode.value, **names)


def _file_problems(what: str, path: Path) -> list[str]:
    """Why `path` cannot be read as a file: missing, or a folder given where a file belongs."""
    if path.is_dir():
        return [f"{what} {path} is a folder, not a file: name the file inside it."]
    if not path.is_file():
        return [f"{what} {path} does not exist."]
    return []


def _read_file(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(f"Cannot read the settings file {path}: {exc.strerror}.")
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"The settings file {path} is not valid TOML: {exc}.")
        return {}
    data = _with_smtp_table(data, path, problems)
    unknown = sorted(set(data) - set(FIELD_NAMES))
    if unknown:
        problems.append(f"The settings file {path} has unknown settings: {', '.join(unknown)}.")
    return {k: v for k, v in data.items() if k in FIELD_NAMES}


#: The keys of `[smtp]` in central365.toml; each is the setting `smtp_<key>`.
SMTP_KEYS = ("host", "port", "security", "username", "password", "sender", "recipients")


def _with_smtp_table(data: dict[str, Any], path: Path, problems: list[str]) -> dict[str, Any]:
    """The file's settings with its `[smtp]` table read as the `smtp_*` settings."""
    table = data.get("smtp")
    if table is None:
        return data
    rest = {k: v for k, v in data.items() if k != "smtp"}
    if not isinstance(table, Mapping):
        problems.append(f"smtp in {path} must be a table: [smtp] with host, port, sender ...")
        return rest
    for key in sorted(set(table) - set(SMTP_KEYS)):
        problems.append(f"smtp.{key} in {path}: unknown key; [smtp] has {', '.join(SMTP_KEYS)}.")
    rest.update({f"smtp_{k}": v for k, v in table.items() if k in SMTP_KEYS})
    return rest


def _smtp_problems(settings: Settings) -> list[str]:
    """The e-mail settings' problems, when e-mail alerts are set up at all."""
    if settings.smtp_host is None and not settings.smtp_recipients:
        return []
    found = smtp_problems(
        host=settings.smtp_host or "",
        port=str(settings.smtp_port),
        security=settings.smtp_security.value,
        sender=settings.smtp_sender or "",
        recipients=settings.smtp_recipients,
        username=settings.smtp_username or "",
        has_password=settings.smtp_password is not None,
    )
    return [f"{env_name('smtp_' + key)} ([smtp] {key}): {text}" for key, text in found.items()]


def load_settings(
    env: Mapping[str, str], config_file: Path | None = None, *, require_central: bool = True
) -> Settings:
    """Build the settings from a settings file and the environment; raise one ConfigError.

    `config_file` defaults to `central365.toml` in the working folder when that file exists;
    `require_central` is off for commands that only talk to Office 365 (`folders`).
    """
    problems: list[str] = []
    path = config_file or (DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None)
    values: dict[str, Any] = _read_file(path, problems) if path else {}
    for field in FIELD_NAMES:
        if field in FILE_ONLY_FIELDS:
            continue
        raw = env.get(env_name(field))
        if raw is not None and raw.strip() != "":
            values[field] = raw.strip()
    if "targets" in values:
        folder = values.get("folder") or Settings.model_fields["folder"].default
        values["targets"], found = parse_targets(values["targets"], str(folder))
        problems.extend(found)
    if require_central and "central" not in values:
        problems.append(
            f"{env_name('central')} is not set: give csv:PATH for a Central export or a "
            "database URL such as sqlite:///central.db."
        )
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "settings"
            problems.append(f"{env_name(field)}: {error['msg']}.")
        raise ConfigError("The settings are not complete.", problems=problems) from None
    problems.extend(_problems_of_auth(settings))
    problems.extend(_smtp_problems(settings))
    if problems:
        raise ConfigError("The settings are not complete.", problems=problems)
    return settings


def target_named(settings: Settings, name: str) -> SyncTarget:
    """The target `name` of the settings file; `ConfigError` listing the known ones otherwise."""
    for target in settings.targets:
        if target.name == name:
            return target
    known = ", ".join(t.name for t in settings.targets)
    raise ConfigError(
        f"No target is called {name}: "
        + (
            f"the settings file has {known}."
            if known
            else "add a [targets.NAME] table to the settings file."
        )
    )
