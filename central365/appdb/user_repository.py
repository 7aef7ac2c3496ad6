"""People who signed in, and their msal token caches (sealed; unreadable ones read as absent)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from central365.appdb.clock import Now, utc_now
from central365.appdb.crypto import SecretBox
from central365.appdb.database import Database
from central365.appdb.models import (
    TokenCacheRow,
    UserRow,
)
from central365.appdb.records import (
    User,
)
from central365.core.errors import ConfigError

log = logging.getLogger(__name__)


def _user(row: UserRow) -> User:
    return User(row.id, row.oid, row.tenant_id, row.name, row.username)


class UserRepository:
    """People who signed in, and each one's msal token cache (sealed at rest)."""

    def __init__(self, database: Database, box: SecretBox, clock: Now = utc_now) -> None:
        self._db = database
        self._box = box
        self._clock = clock

    def upsert(self, oid: str, tenant_id: str, name: str, username: str) -> User:
        """The user with this `oid` in `tenant_id`, created or with name/username refreshed."""
        for attempt in (1, 2):  # two first sign-ins at once: the loser updates
            try:
                with self._db.session(write=True) as s, s.begin():
                    now = self._clock()
                    row = s.scalar(
                        select(UserRow).where(UserRow.tenant_id == tenant_id, UserRow.oid == oid)
                    )
                    if row is None:
                        row = UserRow(
                            oid=oid,
                            tenant_id=tenant_id,
                            name=name,
                            username=username,
                            created_at=now,
                            last_seen_at=now,
                        )
                        s.add(row)
                    else:
                        row.name, row.username, row.last_seen_at = name, username, now
                    s.flush()
                    return _user(row)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, user_id: int) -> User | None:
        with self._db.session() as s, s.begin():
            row = s.get(UserRow, user_id)
            return None if row is None else _user(row)

    def load_token_cache(self, user_id: int) -> str | None:
        """The decrypted msal cache JSON; None when there is none or it can't be opened."""
        with self._db.session() as s, s.begin():
            sealed = s.scalar(select(TokenCacheRow.sealed).where(TokenCacheRow.user_id == user_id))
        if sealed is None:
            return None
        try:
            return self._box.open(sealed)
        except ConfigError:
            log.warning(
                "The token cache of user %d was sealed with another secret key; the user must "
                "sign in again.",
                user_id,
            )
            return None

    def save_token_cache(self, user_id: int, serialized: str) -> None:
        """Store the msal cache, sealed.  `LookupError` when the user does not exist."""
        sealed = self._box.seal(serialized)
        with self._db.session(write=True) as s, s.begin():
            if s.get(UserRow, user_id) is None:
                raise LookupError(f"there is no user {user_id}")
            row = s.get(TokenCacheRow, user_id)
            if row is None:
                s.add(TokenCacheRow(user_id=user_id, sealed=sealed, updated_at=self._clock()))
            else:
                row.sealed, row.updated_at = sealed, self._clock()

    def forget_token_cache(self, user_id: int) -> None:
        with self._db.session(write=True) as s, s.begin():
            row = s.get(TokenCacheRow, user_id)
            if row is not None:
                s.delete(row)
