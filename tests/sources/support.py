"""Helpers for the source tests: sample rows and databases whose tables a test owns."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, text
from sqlalchemy.exc import OperationalError

from central365.core.model import CANONICAL_COLUMNS

PG_URLS = (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
)
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


def sample_row(n: int) -> dict[str, str]:
    """A full canonical row whose values all say which record they belong to."""
    row = {name: f"{name}-{n}" for name in CANONICAL_COLUMNS}
    row.update(id=str(n), status="Active", email=f"person{n}@example.com")
    return row


def unique_name(prefix: str = "c365") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@dataclass
class Database:
    """A reachable database and the names this test owns in it."""

    url: str
    engine: Engine
    schema: str | None
    owned_tables: list[str]

    def create_contacts(
        self,
        rows: Sequence[Mapping[str, object]],
        *,
        names: Mapping[str, str] | None = None,
        omit: Sequence[str] = (),
        table: str | None = None,
    ) -> str:
        """Create a contacts table (integer id) holding `rows`; return its name as configured.

        `names` renames canonical columns in the database; `omit` leaves columns out.
        """
        names = names or {}
        table_name = table or unique_name()
        columns = [
            Column(names.get(c, c), Integer if c == "id" else String(200), primary_key=c == "id")
            for c in CANONICAL_COLUMNS
            if c not in omit
        ]
        contacts = Table(table_name, MetaData(), *columns, schema=self.schema)
        with self.engine.begin() as connection:
            contacts.create(connection)
            if rows:
                connection.execute(
                    contacts.insert(),
                    [
                        {names.get(c, c): value for c, value in row.items() if c not in omit}
                        for row in rows
                    ],
                )
        self.owned_tables.append(table_name)
        return f"{self.schema}.{table_name}" if self.schema else table_name

    def drop_owned(self) -> None:
        with self.engine.begin() as connection:
            for name in self.owned_tables:
                quoted = self.engine.dialect.identifier_preparer.quote(name)
                prefix = (
                    self.engine.dialect.identifier_preparer.quote(self.schema) + "."
                    if self.schema
                    else ""
                )
                connection.execute(text(f"DROP VIEW IF EXISTS {prefix}{quoted}_v"))
                connection.execute(text(f"DROP TABLE IF EXISTS {prefix}{quoted}"))


def reachable(urls: Sequence[str]) -> tuple[str, Engine]:
    failures = []
    for url in urls:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        try:
            with engine.connect():
                pass
        except OperationalError as err:
            engine.dispose()
            failures.append(f"{url}: {err.orig}")
            continue
        return url, engine
    pytest.fail("database server unreachable (db tests must not skip): " + "; ".join(failures))


@contextmanager
def hangup_server(host: str) -> Iterator[int]:
    """A port on `host` that accepts connections and hangs up at once (not a database)."""
    server = socket.socket()
    server.bind((host, 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve_forever() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connection.close()

    thread = threading.Thread(target=serve_forever, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()
