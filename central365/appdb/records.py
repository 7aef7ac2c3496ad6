"""The values the application database hands out: frozen records, never ORM objects.

Repositories convert rows into these inside their own short transaction, so callers (the web
app, the run manager) never hold a session, never trigger lazy loads from another thread and
never see a sealed column.  Secrets are not part of any record: `AppSettings` only says whether
a client secret or certificate is stored (`has_client_secret`), and the decrypted values are
read through `SettingsRepository.client_secret()` only when an msal app is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from central365.core.guards import GuardThresholds
from central365.core.model import Outcome
from central365.core.policy import DeletedContacts, FieldPolicy


class AuthChoice(StrEnum):
    """Whose mailbox the homepage writes into."""

    DELEGATED = "delegated"  # the signed-in user's own mailbox (or one they may write to)
    APP_ONLY = "app_only"  # client credentials; `target_mailbox` names the mailbox


@dataclass(frozen=True)
class AppSettings:
    """What a person changes on the Settings page (one row of `app_settings`)."""

    folder_name: str
    central_url: str  # csv:PATH or a SQLAlchemy URL (may carry a password: sealed at rest)
    central_table: str = "contacts"
    column_mapping: Mapping[str, str] = field(default_factory=dict, hash=False)
    auth_mode: AuthChoice = AuthChoice.DELEGATED
    tenant_id: str | None = None
    client_id: str | None = None
    has_client_secret: bool = False
    has_client_certificate: bool = False
    target_mailbox: str | None = None  # app-only: required; delegated: None means "me"
    updated_at: datetime | None = None
    updated_by: str | None = None
    #: Something stored is sealed with another secret key (the key changed): the Central URL
    #: then reads as "" and the client secret / certificate must be entered again.
    secrets_unreadable: bool = False
    #: The guards' thresholds against mass changes; None: the start-up settings' ones.
    guard_thresholds: GuardThresholds | None = None
    #: The per-field write policies (`core.policy`); None: the start-up settings' `[fields]`.
    field_policies: Mapping[str, FieldPolicy] | None = field(default=None, hash=False)
    #: What a contact deleted in Outlook becomes; None: the start-up setting.
    deleted_contacts: DeletedContacts | None = None


@dataclass(frozen=True)
class User:
    """A person who signed in (Entra object id `oid` within `tenant_id`)."""

    id: int
    oid: str
    tenant_id: str
    name: str
    username: str


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the process stopped while the run was going


@dataclass(frozen=True)
class RunRecord:
    """One synchronisation run and its counters.

    `selected` is how many records the run was asked about, `total` how many outcomes it
    expects once it has planned (writes plus selected records that need none); `done` counts
    the outcomes recorded so far, so `done / total` is the progress.
    """

    id: int
    started_by: str
    mailbox: str
    folder_name: str
    status: RunStatus
    selected: int
    total: int
    created: int
    updated: int
    failed: int
    skipped: int
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    #: Why the run is waiting on Office 365 now (a Retry-After, the circuit breaker), and
    #: until when; None while it is not.
    waiting: str | None = None
    waiting_until: datetime | None = None
    #: Active Central records the run's fresh plan saw; None until it planned.
    active_records: int | None = None
    #: Contacts the run deleted.
    deleted: int = 0
    #: The run this run undoes; None for any other run.
    undoes: int | None = None

    @property
    def duration(self) -> timedelta | None:
        """How long the run took; None while it is still running."""
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def done(self) -> int:
        """Outcomes recorded so far."""
        return self.created + self.updated + self.deleted + self.failed + self.skipped


@dataclass(frozen=True)
class OutcomeRecord:
    """How one record of a run ended; `name`/`email` come from the plan the run acted on."""

    key: str
    name: str
    email: str
    outcome: Outcome
    office365_id: str | None
    error: str | None


class TargetRunStatus(StrEnum):
    """Where a target's run stands: its mailboxes queued or going, or all ended."""

    RUNNING = "running"
    FINISHED = "finished"  # every mailbox ended well
    FAILED = "failed"  # a mailbox failed, was refused by a guard, or had records that failed


class TargetTrigger(StrEnum):
    """What started a target's run."""

    SCHEDULE = "schedule"
    RUN_NOW = "run_now"  # the homepage's Run now
    COMMAND = "command"  # `central365 sync --target`


class MailboxJobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True)
class ScheduleState:
    """What the application database keeps of a scheduled target (its cron is in the file)."""

    target: str
    paused: bool
    last_fired_slot: datetime | None
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class TargetRunMailbox:
    """One mailbox of a target run; `run_id` is its run of History once it has one."""

    mailbox: str
    status: MailboxJobStatus
    run_id: int | None = None
    created: int = 0
    updated: int = 0
    failed: int = 0
    skipped: int = 0
    error: str | None = None
    refused: bool = False
    attempts: int = 0
    finished_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """Ended with every selected record written, nothing refused or stopped."""
        return self.status is MailboxJobStatus.DONE and self.error is None and self.failed == 0


@dataclass(frozen=True)
class TargetRunRecord:
    """A run of a target: who or what started it, and one row per mailbox."""

    id: int
    target: str
    trigger: TargetTrigger
    requested_by: str
    status: TargetRunStatus
    started_at: datetime
    slot: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    mailboxes: tuple[TargetRunMailbox, ...] = ()

    @property
    def pending(self) -> int:
        """Mailboxes not ended yet."""
        return sum(1 for m in self.mailboxes if m.status is not MailboxJobStatus.DONE)
