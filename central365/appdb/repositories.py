"""The only way into the application database: one repository per kind of record.

Each repository lives in its own module (`settings_repository`, `user_repository`,
`session_repository`, `run_repository`, and `leases` for the folder leases).  Each method runs
in its own short transaction (`with db.session() as s, s.begin():`), turns rows into the frozen
records of `central365.appdb.records` before the transaction ends, and can be called from any
thread.  Sealing and opening with the `SecretBox` happens inside them, so no caller ever sees a
sealed column and nothing sealed is ever logged.  Nothing here logs tokens, secrets or contact
records.
"""

from __future__ import annotations

from central365.appdb.clock import Now, utc_now
from central365.appdb.crypto import SecretBox
from central365.appdb.database import Database
from central365.appdb.run_repository import RunRepository
from central365.appdb.session_repository import SessionRepository
from central365.appdb.settings_repository import SettingsRepository
from central365.appdb.user_repository import UserRepository


class Repositories:
    """Every repository over one database and secret box (what the app factory builds)."""

    def __init__(self, database: Database, box: SecretBox, clock: Now = utc_now) -> None:
        self.settings = SettingsRepository(database, box, clock)
        self.users = UserRepository(database, box, clock)
        self.sessions = SessionRepository(database, box, clock)
        self.runs = RunRepository(database, clock)
