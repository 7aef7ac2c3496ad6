"""Alembic migrations of the application database (run by `central365.appdb.migrate`)."""
