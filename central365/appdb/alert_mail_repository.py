"""Where alerts are e-mailed, as the Settings page saved it: one row, its password sealed.

`load()` hands out `AlertMail` (the password only as `has_password`); `password()` opens it for
sending, and raises `ConfigError` when it was sealed with another secret key, so a person enters
it again.  None of it is ever logged.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from central365.appdb.clock import Now, utc_now
from central365.appdb.crypto import SecretBox
from central365.appdb.database import Database
from central365.appdb.models import AlertMailRow
from central365.smtp import AlertMail, SmtpSecurity

_ROW_ID = 1


class AlertMailRepository:
    """The single `alert_mail` row."""

    def __init__(self, database: Database, box: SecretBox, clock: Now = utc_now) -> None:
        self._db = database
        self._box = box
        self._clock = clock

    def load(self) -> AlertMail | None:
        """The saved e-mail settings; None before the first save (the start-up ones apply)."""
        with self._db.session() as s, s.begin():
            row = s.get(AlertMailRow, _ROW_ID)
            if row is None:
                return None
            return AlertMail(
                host=row.host,
                port=row.port,
                security=SmtpSecurity(row.security),
                sender=row.sender,
                recipients=tuple(str(r) for r in json.loads(row.recipients)),
                username=row.username,
                has_password=row.password_sealed is not None,
            )

    def password(self) -> str | None:
        """The SMTP password, opened for sending only (never display it)."""
        with self._db.session() as s, s.begin():
            sealed = s.scalar(
                select(AlertMailRow.password_sealed).where(AlertMailRow.id == _ROW_ID)
            )
        return None if sealed is None else self._box.open(sealed)

    def save(self, mail: AlertMail, *, password: str | None, by: str) -> None:
        """Store `mail`; `password` None keeps the stored one, "" removes it."""
        values: dict[str, object] = {
            "host": mail.host,
            "port": mail.port,
            "security": mail.security.value,
            "username": mail.username,
            "sender": mail.sender,
            "recipients": json.dumps(list(mail.recipients)),
            "updated_at": self._clock(),
            "updated_by": by,
        }
        if password is not None:
            values["password_sealed"] = self._box.seal(password) if password else None
        for attempt in (1, 2):  # a concurrent first save may insert the row under us
            try:
                with self._db.session(write=True) as s, s.begin():
                    row = s.get(AlertMailRow, _ROW_ID)
                    if row is None:
                        values.setdefault("password_sealed", None)
                        s.add(AlertMailRow(id=_ROW_ID, **values))
                    else:
                        for name, value in values.items():
                            setattr(row, name, value)
                return
            except IntegrityError:
                if attempt == 2:
                    raise
