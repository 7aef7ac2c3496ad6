"""The only way into the application database: one repository per kind of record.

Each method runs in its own short transaction (`with db.session() as s, s.begin():`), turns rows
into the frozen records of `central365.appdb.records` before the transaction ends, and can be
called from any thread.  Sealing and opening with the `SecretBox` happens here, so no caller ever
sees a sealed column and nothing sealed is ever logged.  Nothing here logs tokens, secrets or
contact records.

Where a sealed value can no longer be opened because the secret key changed:
- `SettingsRepository.client_secret()` / `client_certificate_pem()` raise `ConfigError` (a
  person must enter them again); `load()` still works, flags `secrets_unreadable` and reads the
  Central URL as "", so the Settings page can be shown to enter them;
- a token cache or a web session reads as absent (the person simply signs in again).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from central365.appdb.crypto import SecretBox
from central365.appdb.database import Database
from central365.appdb.models import (
    AppSettingsRow,
    RunOutcomeRow,
    RunRow,
    TokenCacheRow,
    UserRow,
    WebSessionRow,
)
from central365.appdb.records import (
    AppSettings,
    AuthChoice,
    OutcomeRecord,
    RunRecord,
    RunStatus,
    User,
)
from central365.errors import Central365Error, ConfigError
from central365.model import Outcome

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SelectT = TypeVar("SelectT", bound=Select[Any])


def utc_now() -> datetime:
    return datetime.now(UTC)


_SETTINGS_ROW_ID = 1

#: Shown for runs found RUNNING when the application starts.
INTERRUPTED_MESSAGE = (
    "central365 stopped while this run was going; records without an outcome here may or may "
    "not have been written. Plan again to see where things stand."
)


class RunInProgress(Central365Error):
    """A run into the same mailbox folder is already going (in this process or another).

    `holder` and `since` name it when it holds the folder's lease (`appdb.leases`), which is
    also how a run from the command line is named to the homepage and the other way round.
    """

    def __init__(
        self,
        folder_name: str,
        run_id: int | None,
        *,
        holder: str = "",
        since: datetime | None = None,
    ) -> None:
        where = f"folder {folder_name}" if folder_name else "this folder"
        if holder:
            when = f" since {since.strftime('%d %b %Y, %H:%M:%S')} UTC" if since else ""
            message = (
                f"Another synchronisation is writing into {where}: {holder}{when}. Try again "
                "once it has ended (a run that was stopped frees the folder within a minute)."
            )
        elif run_id is not None:
            message = f"A synchronisation into {where} is already running (run {run_id})."
        else:
            message = (
                f"Another synchronisation is writing into {where}; try again once it has ended."
            )
        super().__init__(message)
        self.folder_name = folder_name
        self.run_id = run_id
        self.holder = holder
        self.since = since


def run_lock_key(mailbox: str, folder_name: str) -> str:
    """The lock key of a mailbox folder: mailbox and folder name, trimmed and case-folded."""
    return f"{mailbox.strip()}\n{folder_name.strip()}".casefold()


# -- settings ---------------------------------------------------------------------------------


class SettingsRepository:
    """The single `app_settings` row: what a person set on the Settings page."""

    def __init__(self, database: Database, box: SecretBox, clock: Clock = utc_now) -> None:
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


# -- users and their token caches -------------------------------------------------------------


def _user(row: UserRow) -> User:
    return User(row.id, row.oid, row.tenant_id, row.name, row.username)


class UserRepository:
    """People who signed in, and each one's msal token cache (sealed at rest)."""

    def __init__(self, database: Database, box: SecretBox, clock: Clock = utc_now) -> None:
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


# -- web sessions -----------------------------------------------------------------------------


def _session_key(session_id: str) -> str:
    """What the table keeps instead of the cookie value, so a copy of it opens no session."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionRepository:
    """Server-side web sessions: the cookie holds a random id, the data is sealed here."""

    def __init__(self, database: Database, box: SecretBox, clock: Clock = utc_now) -> None:
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


# -- runs -------------------------------------------------------------------------------------


def _run(row: RunRow) -> RunRecord:
    return RunRecord(
        id=row.id,
        started_by=row.started_by,
        mailbox=row.mailbox,
        folder_name=row.folder_name,
        status=RunStatus(row.status),
        selected=row.selected,
        total=row.total,
        created=row.created,
        updated=row.updated,
        failed=row.failed,
        skipped=row.skipped,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        waiting=row.waiting,
        waiting_until=row.waiting_until,
    )


def _outcome(row: RunOutcomeRow) -> OutcomeRecord:
    return OutcomeRecord(
        key=row.key,
        name=row.name,
        email=row.email,
        outcome=Outcome(row.outcome),
        office365_id=row.office365_id,
        error=row.error,
    )


_COUNTER = {
    Outcome.CREATED: "created",
    Outcome.UPDATED: "updated",
    Outcome.FAILED: "failed",
    Outcome.SKIPPED: "skipped",
}


def _into(query: SelectT, mailboxes: Collection[str] | None) -> SelectT:
    """`query` limited to runs into `mailboxes` (compared lower-cased); None: every run."""
    if mailboxes is None:
        return query
    return query.where(func.lower(RunRow.mailbox).in_(sorted({m.lower() for m in mailboxes})))


class RunRepository:
    """Synchronisation runs, their counters and every record's outcome."""

    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._db = database
        self._clock = clock

    def start(
        self,
        *,
        started_by: str,
        mailbox: str,
        folder_name: str,
        selected: int,
        lock_key: str | None = None,
    ) -> RunRecord:
        """Record a new RUNNING run holding the folder's lock.

        `lock_key` defaults to `run_lock_key(mailbox, folder_name)`.  Raises `RunInProgress`
        when a RUNNING run (of any process using this database) already holds it.
        """
        key = lock_key if lock_key is not None else run_lock_key(mailbox, folder_name)
        row = RunRow(
            started_by=started_by,
            mailbox=mailbox,
            folder_name=folder_name,
            status=RunStatus.RUNNING.value,
            active_lock=key,
            selected=selected,
            total=0,
            created=0,
            updated=0,
            failed=0,
            skipped=0,
            started_at=self._clock(),
            finished_at=None,
            error=None,
        )
        try:
            with self._db.session(write=True) as s, s.begin():
                holder = s.scalar(select(RunRow).where(RunRow.active_lock == key))
                if holder is not None:
                    raise RunInProgress(holder.folder_name, holder.id)
                s.add(row)
                s.flush()
                return _run(row)
        except IntegrityError:  # another process took the lock between our check and insert
            with self._db.session() as s, s.begin():
                holder = s.scalar(select(RunRow).where(RunRow.active_lock == key))
                if holder is None:
                    raise
                raise RunInProgress(holder.folder_name, holder.id) from None

    def running(self, lock_key: str) -> int | None:
        """The id of the RUNNING run holding `lock_key`, if any."""
        with self._db.session() as s, s.begin():
            return s.scalar(select(RunRow.id).where(RunRow.active_lock == lock_key))

    def set_waiting(self, run_id: int, reason: str | None, seconds: float = 0.0) -> None:
        """The run waits on Office 365 for `seconds` because of `reason`; None: it goes on."""
        until = self._clock() + timedelta(seconds=seconds) if reason is not None else None
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(waiting=reason, waiting_until=until)
            )

    def set_total(self, run_id: int, total: int, *, selected: int | None = None) -> None:
        """How many outcomes the run expects, from its fresh plan (and `selected`, if given)."""
        values: dict[str, Any] = {"total": total}
        if selected is not None:
            values["selected"] = selected
        with self._db.session(write=True) as s, s.begin():
            s.execute(update(RunRow).where(RunRow.id == run_id).values(**values))

    def set_target(self, run_id: int, *, mailbox: str, folder_name: str) -> None:
        """Correct the mailbox and folder a run writes into (as the opened service says)."""
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(mailbox=mailbox, folder_name=folder_name)
            )

    def add_outcomes(self, run_id: int, outcomes: Sequence[OutcomeRecord]) -> None:
        """Store outcomes (in arrival order) and bump the run's counters, in one transaction."""
        if not outcomes:
            return
        rows = [
            {
                "run_id": run_id,
                "key": o.key,
                "name": o.name,
                "email": o.email,
                "outcome": Outcome(o.outcome).value,
                "office365_id": o.office365_id,
                "error": o.error,
            }
            for o in outcomes
        ]
        bumps: dict[str, Any] = {}
        for outcome, column in _COUNTER.items():
            n = sum(1 for o in outcomes if o.outcome is outcome)
            if n:
                bumps[column] = getattr(RunRow, column) + n
        with self._db.session(write=True) as s, s.begin():
            s.execute(update(RunRow).where(RunRow.id == run_id).values(**bumps))
            s.execute(insert(RunOutcomeRow), rows)

    def finish(self, run_id: int, status: RunStatus, error: str | None = None) -> RunRecord:
        """End a RUNNING run (releasing its folder lock); the first end wins.

        Finishing a run that has already ended changes nothing and returns it as it is.
        Raises `LookupError` for an unknown run, `ValueError` for status RUNNING.
        """
        if status is RunStatus.RUNNING:
            raise ValueError("a run cannot finish as RUNNING")
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.status == RunStatus.RUNNING.value)
                .values(
                    status=status.value,
                    error=error,
                    finished_at=self._clock(),
                    active_lock=None,
                    waiting=None,
                    waiting_until=None,
                )
            )
            row = s.get(RunRow, run_id)
            if row is None:
                raise LookupError(f"there is no run {run_id}")
            return _run(row)

    def get(self, run_id: int) -> RunRecord | None:
        with self._db.session() as s, s.begin():
            row = s.get(RunRow, run_id)
            return None if row is None else _run(row)

    def recent(
        self, limit: int = 50, offset: int = 0, *, mailboxes: Collection[str] | None = None
    ) -> list[RunRecord]:
        """Runs, newest first; only those into `mailboxes` (any case) when given."""
        query = _into(select(RunRow), mailboxes).order_by(RunRow.id.desc())
        with self._db.session() as s, s.begin():
            rows = s.scalars(query.limit(limit).offset(offset))
            return [_run(row) for row in rows]

    def count(self, *, mailboxes: Collection[str] | None = None) -> int:
        """How many runs there are (for paging History); only into `mailboxes` when given."""
        query = _into(select(func.count()).select_from(RunRow), mailboxes)
        with self._db.session() as s, s.begin():
            return int(s.scalar(query) or 0)

    def outcomes(
        self, run_id: int, *, only_failed: bool = False, limit: int = 500, offset: int = 0
    ) -> list[OutcomeRecord]:
        """A run's outcomes in the order they arrived."""
        query = select(RunOutcomeRow).where(RunOutcomeRow.run_id == run_id)
        if only_failed:
            query = query.where(RunOutcomeRow.outcome == Outcome.FAILED.value)
        query = query.order_by(RunOutcomeRow.id).limit(limit).offset(offset)
        with self._db.session() as s, s.begin():
            return [_outcome(row) for row in s.scalars(query)]

    def mark_interrupted(self, *, keep: Collection[int] = ()) -> int:
        """At start-up: end as INTERRUPTED every RUNNING run (but those in `keep`).

        Assumes one application process per database: a run of another live process sharing it
        would be marked too.  Returns how many runs were marked.
        """
        query = update(RunRow).where(RunRow.status == RunStatus.RUNNING.value)
        if keep:
            query = query.where(RunRow.id.not_in(list(keep)))
        with self._db.session(write=True) as s, s.begin():
            result: CursorResult[Any] = s.execute(  # type: ignore[assignment]
                query.values(
                    status=RunStatus.INTERRUPTED.value,
                    error=INTERRUPTED_MESSAGE,
                    finished_at=self._clock(),
                    active_lock=None,
                    waiting=None,
                    waiting_until=None,
                )
            )
            return result.rowcount


class Repositories:
    """Every repository over one database and secret box (what the app factory builds)."""

    def __init__(self, database: Database, box: SecretBox, clock: Clock = utc_now) -> None:
        self.settings = SettingsRepository(database, box, clock)
        self.users = UserRepository(database, box, clock)
        self.sessions = SessionRepository(database, box, clock)
        self.runs = RunRepository(database, clock)
