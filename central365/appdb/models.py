"""The application database's tables, as SQLAlchemy 2 typed declarative models.

Only `central365.appdb` uses these classes; everything else receives the frozen records of
`central365.appdb.records`.  The migrations in `migrations/versions/` create exactly these
tables (a test compares them with Alembic's `compare_metadata`), so a change here needs a new
migration.  Every timestamp is timezone-aware UTC (`UTCDateTime`), also on SQLite, which keeps
no time zone: it stores UTC and the zone is put back when reading.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (naive values are refused)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("central365 stores only timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "oid", name="uq_users_tenant_oid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    oid: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    username: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TokenCacheRow(Base):
    """One msal token cache per user, sealed (it holds refresh tokens)."""

    __tablename__ = "token_caches"

    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sealed: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebSessionRow(Base):
    """A server-side web session.  `id` is the SHA-256 of the cookie value, not the value."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed_data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AppSettingsRow(Base):
    """The Settings page's values: always the single row with id 1."""

    __tablename__ = "app_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    folder_name: Mapped[str] = mapped_column(Text)
    central_url_sealed: Mapped[str] = mapped_column(Text)
    central_table: Mapped[str] = mapped_column(Text)
    column_mapping: Mapped[str] = mapped_column(Text)  # JSON object, canonical → source column
    auth_mode: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(Text)
    client_secret_sealed: Mapped[str | None] = mapped_column(Text)
    client_certificate_sealed: Mapped[str | None] = mapped_column(Text)
    target_mailbox: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(Text)
    #: JSON object of `GuardThresholds`' fields; NULL: the start-up settings' thresholds.
    guard_thresholds: Mapped[str | None] = mapped_column(Text, default=None)
    #: JSON field → policy word; NULL: the start-up settings' `[fields]`.
    field_policies: Mapped[str | None] = mapped_column(Text, default=None)
    #: `recreate` or `respect_deletes`; NULL: the start-up setting.
    deleted_contacts: Mapped[str | None] = mapped_column(String(32), default=None)


class AlertMailRow(Base):
    """Where alerts about unattended runs are e-mailed (Settings page): the single row id 1.

    `recipients` is a JSON list of addresses; the SMTP password is sealed (`SecretBox`).
    """

    __tablename__ = "alert_mail"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    host: Mapped[str] = mapped_column(Text)
    port: Mapped[int] = mapped_column(Integer)
    security: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(Text)
    password_sealed: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(Text)
    recipients: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(Text)


class RunRow(Base):
    """A synchronisation run.  `active_lock` holds the lock key while the run is RUNNING and is
    NULL afterwards; its unique constraint lets only one running run per mailbox + folder exist,
    across processes (NULLs never clash)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_by: Mapped[str] = mapped_column(Text)
    mailbox: Mapped[str] = mapped_column(Text)
    folder_name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    active_lock: Mapped[str | None] = mapped_column(String(700), unique=True)
    selected: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    waiting: Mapped[str | None] = mapped_column(Text)
    waiting_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Active Central records the run's fresh plan saw (None until it planned): the journal's
    #: "how big was Central last time".
    active_records: Mapped[int | None] = mapped_column(Integer)
    #: Contacts the run deleted (an undo of a run that created them, or orphans deleted).
    deleted: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    #: The run this run undoes (`central365 undo`, History's "Undo this run"); None otherwise.
    undoes: Mapped[int | None] = mapped_column(Integer)


class RunOutcomeRow(Base):
    """One record's outcome in a run; `id` keeps the order in which outcomes arrived."""

    __tablename__ = "run_outcomes"
    __table_args__ = (Index("ix_run_outcomes_run_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    office365_id: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class RunLeaseRow(Base):
    """Who is writing into a mailbox folder now: a lease every front end takes before it writes.

    `key` is `run_lock_key(mailbox, folder)`; `token` tells the holder's renewals and release
    apart from a successor's; a lease whose `expires_at` has passed (its holder was killed or
    froze) may be taken over.
    """

    __tablename__ = "run_leases"

    key: Mapped[str] = mapped_column(String(700), primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JournalContactRow(Base):
    """The journal's latest word on one Central record of one mailbox folder.

    `folder_key` is `run_lock_key(mailbox, folder)`; `baseline` is JSON (synced property →
    the value central365 wrote); `change_key` the contact's changeKey after that write.
    """

    __tablename__ = "journal_contacts"
    __table_args__ = (
        UniqueConstraint("folder_key", "central_key", name="uq_journal_contacts_folder_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    folder_key: Mapped[str] = mapped_column(String(700))
    central_key: Mapped[str] = mapped_column(Text)
    office365_id: Mapped[str] = mapped_column(Text)
    baseline: Mapped[str] = mapped_column(Text)
    change_key: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("runs.id", ondelete="SET NULL"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JournalWriteRow(Base):
    """One contact a run wrote, with its before-image (JSON; NULL for a created contact)."""

    __tablename__ = "journal_writes"
    __table_args__ = (Index("ix_journal_writes_run_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("runs.id", ondelete="CASCADE"))
    central_key: Mapped[str] = mapped_column(Text)
    office365_id: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[str | None] = mapped_column(Text)
    change_key: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FolderCacheRow(Base):
    """A mailbox folder as last read from Office 365: the deltaLink its next round starts from.

    `mailbox` is the mailbox's identity, case-folded (the address people see, never Graph's
    `me`, which names a different mailbox for each signed-in person).
    """

    __tablename__ = "folder_caches"
    __table_args__ = (UniqueConstraint("mailbox", "folder_id", name="uq_folder_caches_folder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mailbox: Mapped[str] = mapped_column(String(320))
    folder_id: Mapped[str] = mapped_column(String(512))
    delta_link: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FolderCacheContactRow(Base):
    """One contact of a cached folder: its projected Graph properties as JSON text."""

    __tablename__ = "folder_cache_contacts"

    cache_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("folder_caches.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class ScheduleRow(Base):
    """A scheduled target's state: paused, and the last cron slot fired.

    `last_fired_slot` is the exactly-once claim: a scheduler fires the slot only by moving it
    forward (`UPDATE ... WHERE last_fired_slot < :slot`), so of two schedulers one wins.
    """

    __tablename__ = "schedules"

    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean)
    last_fired_slot: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str | None] = mapped_column(Text)


class TargetRunRow(Base):
    """One run of a target (fired by its schedule, Run now, or the command line)."""

    __tablename__ = "target_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(64), index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(Text)
    slot: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class TargetRunMailboxRow(Base):
    """One mailbox of a target run: its state, counts, and its run of History (`run_id`)."""

    __tablename__ = "target_run_mailboxes"
    __table_args__ = (
        UniqueConstraint("target_run_id", "mailbox", name="uq_target_run_mailboxes_mailbox"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target_run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("target_runs.id", ondelete="CASCADE")
    )
    mailbox: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    created: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    refused: Mapped[bool] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
