"""Alembic's environment for the application database.

`central365.appdb.migrate` hands in an open connection (inside its own transaction) through
`config.attributes["connection"]`; without one, the database named by the `sqlalchemy.url`
option is opened here.  Offline mode (`--sql`) renders the SQL for that URL instead.
Logging is left as the application configured it: this file never calls `fileConfig`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from central365.appdb.database import open_database
from central365.appdb.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    if not url:
        raise RuntimeError("central365 migrations need a connection or a sqlalchemy.url")
    database = open_database(url)
    try:
        with database.engine.begin() as connection:
            _run(connection)
    finally:
        database.dispose()


_main()
