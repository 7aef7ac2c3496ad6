"""Settings: parsed once at the edge (CLI entry, app factory) and passed down as plain values.

Sources, lowest priority first: defaults, `central365.toml` (or the file given with `--config`),
then `CENTRAL365_*` environment variables.  Every problem is collected and reported together in
one `ConfigError`, so a person fixes their set-up in one go rather than one error per run.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from central365.errors import ConfigError
from central365.ports import DEFAULT_RUN_DEADLINE

ENV_PREFIX = "CENTRAL365_"
DEFAULT_CONFIG_FILE = Path("central365.toml")
GRAPH_URL = "https://graph.microsoft.com/v1.0"
AUTHORITY_HOST = "https://login.microsoftonline.com"


class AuthMode(StrEnum):
    """How central365 gets its Graph token."""

    APP = "app"  # client credentials (secret or certificate), /users/{mailbox}
    DEVICE = "device"  # delegated device-code sign-in with a persisted token cache
    SANDBOX = "sandbox"  # a fixed bearer token for the local sandbox


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
    auth: AuthMode = AuthMode.DEVICE
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
    # The web app (`central365 serve`).
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: sqlite:///<data_dir>/central365.db
    secret_key: SecretStr | None = None  # default: <data_dir>/secret.key, made on first use
    public_url: str = "http://127.0.0.1:8000"  # where people reach the homepage (redirect URI)

    @property
    def app_database_url(self) -> str:
        """The web app's own database (history, settings, token caches)."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'central365.db').resolve()}"


FIELD_NAMES = tuple(Settings.model_fields)


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _problems_of_auth(settings: Settings) -> list[str]:
    problems = []
    if settings.auth is AuthMode.APP:
        if not settings.tenant_id:
            problems.append(f"{env_name('tenant_id')} is required for app sign-in.")
        if not settings.client_id:
            problems.append(f"{env_name('client_id')} is required for app sign-in.")
        if not (settings.client_secret or settings.client_certificate):
            problems.append(
                f"Set {env_name('client_secret')} or {env_name('client_certificate')} for app sign-in."
            )
        if settings.mailbox == "me":
            problems.append(
                f"App sign-in has no signed-in user: set {env_name('mailbox')} to the mailbox's "
                "address or id."
            )
    elif settings.auth is AuthMode.DEVICE and not settings.client_id:
        problems.append(f"{env_name('client_id')} is required for device sign-in.")
    if settings.client_certificate and not settings.client_certificate.is_file():
        problems.append(f"The client certificate {settings.client_certificate} does not exist.")
    if settings.central_mapping and not settings.central_mapping.is_file():
        problems.append(f"The column mapping file {settings.central_mapping} does not exist.")
    if not settings.graph_url.startswith(("https://", "http://")):
        problems.append(f"{env_name('graph_url')} must be an http(s) URL.")
    return problems


def _read_file(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(f"Cannot read the settings file {path}: {exc.strerror}.")
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"The settings file {path} is not valid TOML: {exc}.")
        return {}
    unknown = sorted(set(data) - set(FIELD_NAMES))
    if unknown:
        problems.append(f"The settings file {path} has unknown settings: {', '.join(unknown)}.")
    return {k: v for k, v in data.items() if k in FIELD_NAMES}


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
        raw = env.get(env_name(field))
        if raw is not None and raw.strip() != "":
            values[field] = raw.strip()
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
    if problems:
        raise ConfigError("The settings are not complete.", problems=problems)
    return settings
