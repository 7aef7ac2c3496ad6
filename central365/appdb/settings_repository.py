"""The Settings page's values: one row, its secrets sealed, never handed out in a record.

A client secret or certificate sealed with an older secret key cannot be opened: `load()` still
works and flags `secrets_unreadable` (the Central URL reads as ""), and `client_secret()` /
`client_certificate_pem()` raise `ConfigError`, so a person enters them again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from central365.appdb.clock import Now, utc_now
from central365.appdb.crypto import SecretBox
from central365.appdb.database import Database
from central365.appdb.models import (
    AppSettingsRow,
)
from central365.appdb.records import (
    AppSettings,
    AuthChoice,
)
from central365.core.errors import ConfigError
from central365.core.guards import GuardThresholds
from central365.core.policy import DeletedContacts, FieldPolicy, parse_policies

log = logging.getLogger(__name__)


_SETTINGS_ROW_ID = 1

#: Shown for runs found RUNNING when the application starts.


def _thresholds(stored: str | None) -> GuardThresholds | None:
    """The stored thresholds; None when none are (or what is stored cannot be read)."""
    if stored is None:
        return None
    try:
        values = json.loads(stored)
        known = {f.name for f in fields(GuardThresholds)}
        return GuardThresholds(**{k: v for k, v in values.items() if k in known})
    except (ValueError, TypeError, AttributeError):
        log.warning("The stored guard thresholds cannot be read; the start-up ones apply.")
        return None


def _policies(stored: str | None) -> dict[str, FieldPolicy] | None:
    """The stored write policies; None when none are (or what is stored cannot be read).

    A field or word no longer known is dropped, as the command line's settings would refuse it.
    """
    if stored is None:
        return None
    try:
        values = json.loads(stored)
        if not isinstance(values, dict):
            raise TypeError
    except (ValueError, TypeError):
        log.warning("The stored field policies cannot be read; the start-up ones apply.")
        return None
    return parse_policies(values)[0]


def _deleted_contacts(stored: str | None) -> DeletedContacts | None:
    try:
        return None if stored is None else DeletedContacts(stored)
    except ValueError:
        log.warning("The stored deleted-contacts policy is unknown; the start-up one applies.")
        return None


class SettingsRepository:
    """The single `app_settings` row: what a person set on the Settings page."""

    def __init__(self, database: Database, box: SecretBox, clock: Now = utc_now) -> None:
        self._db = database
        self._box = box
        self._clock = clock

    def load(self) -> AppSettings | None:
        """The stored settings, None before the first save.

        Never fails because the secret key changed, so the Settings page can still be shown:
        the sealed Central URL (it may carry a database password) then reads as "" and
        `secrets_unreadable` is set; `client_secret()` and `client_certificate_pem()` raise.
        """
        with self._db.session() as s, s.begin():
            row = s.get(AppSettingsRow, _SETTINGS_ROW_ID)
            if row is None:
                return None
            sealed = (row.client_secret_sealed, row.client_certificate_sealed)
            central_url, readable = self._try_open(row.central_url_sealed)
            readable = all([readable, *(self._try_open(v)[1] for v in sealed if v is not None)])
            if not readable:
                log.warning(
                    "Stored settings were sealed with another secret key; they must be entered "
                    "again on the Settings page."
                )
            return AppSettings(
                folder_name=row.folder_name,
                central_url=central_url,
                central_table=row.central_table,
                column_mapping=dict(json.loads(row.column_mapping)),
                auth_mode=AuthChoice(row.auth_mode),
                tenant_id=row.tenant_id,
                client_id=row.client_id,
                has_client_secret=row.client_secret_sealed is not None,
                has_client_certificate=row.client_certificate_sealed is not None,
                target_mailbox=row.target_mailbox,
                updated_at=row.updated_at,
                updated_by=row.updated_by,
                secrets_unreadable=not readable,
                guard_thresholds=_thresholds(row.guard_thresholds),
                field_policies=_policies(row.field_policies),
                deleted_contacts=_deleted_contacts(row.deleted_contacts),
            )

    def _try_open(self, sealed: str) -> tuple[str, bool]:
        try:
            return self._box.open(sealed), True
        except ConfigError:
            return "", False

    def save(
        self,
        settings: AppSettings,
        *,
        client_secret: str | None = None,
        client_certificate_pem: str | None = None,
        by: str,
    ) -> None:
        """Store `settings` (its `has_*`, `updated_at`, `updated_by`, `secrets_unreadable` are
        ignored).

        `client_secret` / `client_certificate_pem`: None keeps the stored one, "" removes it.
        """
        values: dict[str, Any] = {
            "folder_name": settings.folder_name,
            "central_url_sealed": self._box.seal(settings.central_url),
            "central_table": settings.central_table,
            "column_mapping": json.dumps(dict(settings.column_mapping), sort_keys=True),
            "auth_mode": AuthChoice(settings.auth_mode).value,
            "tenant_id": settings.tenant_id,
            "client_id": settings.client_id,
            "target_mailbox": settings.target_mailbox,
            "updated_at": self._clock(),
            "updated_by": by,
            "guard_thresholds": (
                None
                if settings.guard_thresholds is None
                else json.dumps(asdict(settings.guard_thresholds), sort_keys=True)
            ),
            "field_policies": (
                None
                if settings.field_policies is None
                else json.dumps(
                    {f: FieldPolicy(p).value for f, p in settings.field_policies.items()},
                    sort_keys=True,
                )
            ),
            "deleted_contacts": (
                None
                if settings.deleted_contacts is None
                else DeletedContacts(settings.deleted_contacts).value
            ),
        }
        if client_secret is not None:
            values["client_secret_sealed"] = (
                self._box.seal(client_secret) if client_secret else None
            )
        if client_certificate_pem is not None:
            values["client_certificate_sealed"] = (
                self._box.seal(client_certificate_pem) if client_certificate_pem else None
            )
        for attempt in (1, 2):  # a concurrent first save may insert the row under us
            try:
                with self._db.session(write=True) as s, s.begin():
                    row = s.get(AppSettingsRow, _SETTINGS_ROW_ID)
                    if row is None:
                        values.setdefault("client_secret_sealed", None)
                        values.setdefault("client_certificate_sealed", None)
                        s.add(AppSettingsRow(id=_SETTINGS_ROW_ID, **values))
                    else:
                        for name, value in values.items():
                            setattr(row, name, value)
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    def client_secret(self) -> str | None:
        """The decrypted client secret, for building the msal app only (never display it)."""
        return self._open_column(AppSettingsRow.client_secret_sealed)

    def client_certificate_pem(self) -> str | None:
        """The decrypted client certificate (PEM, private key included)."""
        return self._open_column(AppSettingsRow.client_certificate_sealed)

    def _open_column(self, column: Any) -> str | None:
        with self._db.session() as s, s.begin():
            sealed = s.scalar(select(column).where(AppSettingsRow.id == _SETTINGS_ROW_ID))
        return None if sealed is None else self._box.open(sealed)
