"""Server-side web sessions, keyed by the SHA-256 of the cookie value, their data sealed."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from central365.appdb.clock import Now, utc_now
from central365.appdb.crypto import SecretBox
from central365.appdb.database import Database
from central365.appdb.models import (
    WebSessionRow,
)
from central365.core.errors import ConfigError


def _session_key(session_id: str) -> str:
    """What the table keeps instead of the cookie value, so a copy of it opens no session."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionRepository:
    """Server-side web sessions: the cookie holds a random id, the data is sealed here."""

    def __init__(self, database: Database, box: SecretBox, clock: Now = utc_now) -> None:
        self._db = database
        self._box = box
        self._clock = clock

    def create(self, data: Mapping[str, Any], lifetime: timedelta) -> str:
        """A new session holding `data` (JSON-serialisable) for `lifetime`; returns its id."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        row = WebSessionRow(
            id=_session_key(session_id),
            sealed_data=self._seal(data),
            created_at=now,
            expires_at=now + lifetime,
        )
        with self._db.session(write=True) as s, s.begin():
            s.add(row)
        return session_id

    def get(self, session_id: str) -> Mapping[str, Any] | None:
        """The session's data; None when it is missing, expired or sealed with another key."""
        with self._db.session() as s, s.begin():
            row = s.get(WebSessionRow, _session_key(session_id))
            if row is None or row.expires_at <= self._clock():
                return None
            sealed = row.sealed_data
        try:
            data: dict[str, Any] = json.loads(self._box.open(sealed))
        except ConfigError:
            return None
        return data

    def update(
        self, session_id: str, data: Mapping[str, Any], lifetime: timedelta | None = None
    ) -> None:
        """Replace the data of a live session (nothing happens to a missing or expired one).

        `lifetime`, when given, also moves the expiry to now + lifetime.
        """
        sealed = self._seal(data)
        now = self._clock()
        values: dict[str, Any] = {"sealed_data": sealed}
        if lifetime is not None:
            values["expires_at"] = now + lifetime
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(WebSessionRow)
                .where(
                    WebSessionRow.id == _session_key(session_id),
                    WebSessionRow.expires_at > now,
                )
                .values(**values)
            )

    def delete(self, session_id: str) -> None:
        with self._db.session(write=True) as s, s.begin():
            row = s.get(WebSessionRow, _session_key(session_id))
            if row is not None:
                s.delete(row)

    def purge_expired(self) -> int:
        """Delete every expired session; returns how many (call now and then)."""
        with self._db.session(write=True) as s, s.begin():
            rows = s.scalars(
                select(WebSessionRow).where(WebSessionRow.expires_at <= self._clock())
            ).all()
            for row in rows:
                s.delete(row)
            return len(rows)

    def _seal(self, data: Mapping[str, Any]) -> str:
        return self._box.seal(json.dumps(dict(data), separators=(",", ":")))
