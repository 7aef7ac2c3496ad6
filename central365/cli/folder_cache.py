"""The command line's folder cache: the same application database the homepage keeps it in.

`plan` and `sync` read the folder as last seen plus one delta round (issue 11 §3), so a plan
after nothing changed in Outlook costs two Graph requests.  The database is the homepage's
default (`Settings.app_database_url`: `CENTRAL365_DATABASE_URL`, else `central365.db` in the
data folder), so a plan on the command line continues from the homepage's last round and back.

When that database cannot be used, a plan still works — it reads the whole folder and says so
on stderr — because the cache only saves requests; `sync` needs the database anyway for its
folder lease, which reports the problem itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from central365.config import Settings
from central365.core.errors import ConfigError
from central365.wiring.open import FolderCaches


@contextmanager
def folder_caches(settings: Settings, warn: Callable[[str], None]) -> Iterator[FolderCaches | None]:
    """The application database's folder caches while the command runs; None when unusable.

    Raises:
        ConfigError: the database stopped answering while the command used it.
    """
    # Loaded here, as the lease does: `folders` never pays for SQLAlchemy and Alembic.
    from sqlalchemy.exc import SQLAlchemyError

    from central365.appdb import FolderCacheRepository, migrate, open_database

    url = settings.app_database_url
    try:
        migrate(url)
        database = open_database(url)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        warn(
            f"Reading the whole folder: the application database cannot be used "
            f"({type(exc).__name__}); check CENTRAL365_DATABASE_URL."
        )
        yield None
        return
    try:
        yield FolderCacheRepository(database, remember=False).for_mailbox  # read once
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"The application database {database.url} stopped answering "
            f"({type(exc).__name__}): check CENTRAL365_DATABASE_URL."
        ) from None
    finally:
        database.dispose()
