"""The application database of the homepage: models, migrations, repositories, secrets at rest.

What it owns: the SQLAlchemy 2 models (`models`), the Alembic migrations shipped inside this
package (`migrations/`, run by `migrate`), encryption of secrets, token caches and session data
(`SecretBox`), and the repositories that are the only way in (`repositories`).  It knows nothing
about HTTP or FastAPI; the web app and the run manager talk to it through the repositories and
receive frozen records (`records`), never ORM objects.

    migrate(settings.app_database_url)            # at start-up, idempotent
    database = open_database(settings.app_database_url)
    repos = Repositories(database, SecretBox.from_settings(settings))
"""

from __future__ import annotations

from central365.appdb.alert_mail_repository import AlertMailRepository
from central365.appdb.crypto import SecretBox, derive_key
from central365.appdb.database import Database, alembic_config, migrate, open_database
from central365.appdb.folder_cache import FolderCacheRepository, MailboxFolderCache
from central365.appdb.journal_repository import JournalRepository
from central365.appdb.records import (
    AppSettings,
    AuthChoice,
    MailboxJobStatus,
    OutcomeRecord,
    RunRecord,
    RunStatus,
    ScheduleState,
    TargetRunMailbox,
    TargetRunRecord,
    TargetRunStatus,
    TargetTrigger,
    User,
)
from central365.appdb.repositories import Repositories
from central365.appdb.run_repository import (
    INTERRUPTED_MESSAGE,
    RunInProgress,
    RunRepository,
    run_lock_key,
)
from central365.appdb.schedule_repository import ScheduleRepository
from central365.appdb.session_repository import SessionRepository
from central365.appdb.settings_repository import SettingsRepository
from central365.appdb.user_repository import UserRepository
from central365.core.journal import JournalWrite

__all__ = [
    "INTERRUPTED_MESSAGE",
    "AlertMailRepository",
    "AppSettings",
    "AuthChoice",
    "Database",
    "FolderCacheRepository",
    "JournalRepository",
    "JournalWrite",
    "MailboxFolderCache",
    "MailboxJobStatus",
    "OutcomeRecord",
    "Repositories",
    "RunInProgress",
    "RunRecord",
    "RunRepository",
    "RunStatus",
    "ScheduleRepository",
    "ScheduleState",
    "SecretBox",
    "SessionRepository",
    "SettingsRepository",
    "TargetRunMailbox",
    "TargetRunRecord",
    "TargetRunStatus",
    "TargetTrigger",
    "User",
    "UserRepository",
    "alembic_config",
    "derive_key",
    "migrate",
    "open_database",
    "run_lock_key",
]
