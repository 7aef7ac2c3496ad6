"""Central's contacts from a database table or view (any SQLAlchemy URL).

This module owns the database side only: parsing the URL, connecting with a timeout, finding the
table (`CENTRAL365_CENTRAL_TABLE`, default `contacts`, may be `schema.table`) and its columns by
reflection, and streaming its rows in id order through a server-side cursor (`yield_per`), so a
large table is never held in memory.  Queries are SQLAlchemy Core built from `table()` and
`column()` with the names reflection returned, so the dialect quotes every identifier itself.

Like the CSV source it never judges a record, and it never puts a password in a message: every
URL it prints goes through `URL.render_as_string(hide_password=True)` and `mask_secrets` (for a
password in the query string).  `columns()` is the check told for someone who may not learn
more than whether the table is usable: any connection failure is one neutral sentence (the
driver's words go to the debug log), so the answer never tells whether a port is open.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    URL,
    Boolean,
    Engine,
    Select,
    column,
    create_engine,
    inspect,
    select,
    table,
)
from sqlalchemy.engine import Inspector, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    NoSuchTableError,
    SQLAlchemyError,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeEngine

from central365.core.errors import SourceError
from central365.core.model import CANONICAL_COLUMNS, CentralContact, RowProblem
from central365.core.ports import SourceRows
from central365.sources.column_mapping import ColumnMapping, ColumnReport
from central365.sources.redact import mask_secrets
from central365.sources.repeats import SharedValues, repeated_positions

logger = logging.getLogger(__name__)

#: What `columns()` says about any failure to connect: the same words whatever the cause.
UNREACHABLE = (
    "the database did not answer: check its host, port, database name, user name and password"
)

#: Ports to name in "cannot connect to host:port" when the URL leaves them out.
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433}
#: Drivers known to take `connect_timeout` (seconds) as a connect argument.
_TIMEOUT_DRIVERS = {
    ("postgresql", "psycopg"),
    ("postgresql", "psycopg2"),
    ("mysql", "pymysql"),
    ("mysql", "mysqldb"),
    ("mariadb", "pymysql"),
    ("mariadb", "mysqldb"),
}
_ACCEPTED = "e.g. sqlite:///PATH, postgresql+psycopg://USER@HOST/DB, mysql+pymysql://USER@HOST/DB"


class _Problems(Exception):
    """Internal: the up-front check gave up; `problems` says why (turned into a SourceError)."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(*problems)
        self.problems = tuple(problems)


class SqlSource:
    """A table or view of Central's database; implements `ContactSource`.

    :param url: any SQLAlchemy URL whose driver is installed.
    :param table: the table or view, optionally `schema.table`.
    :param page_size: rows fetched from the server-side cursor at a time.
    :param connect_timeout: seconds to wait for the database to answer a connection.
    :raises SourceError: when the URL cannot be parsed or the table name is blank.
    """

    def __init__(
        self,
        url: str,
        *,
        table: str = "contacts",
        mapping: ColumnMapping | None = None,
        page_size: int = 1000,
        connect_timeout: int = 10,
    ) -> None:
        problems: list[str] = []
        parsed: URL | None = None
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError) as err:
            problems.append(f"{mask_secrets(url)} is not a valid database URL ({_accepted(err)})")
        if parsed is not None and "@" in (parsed.host or ""):
            # `user:p@ss@host`: SQLAlchemy would split the password at its first `@` and
            # print the rest as the host, so name the problem without echoing the URL.
            parsed = None
            problems.append(
                "the database URL has an '@' in its password or user name: write it as %40"
            )
        schema, _, name = table.strip().rpartition(".")
        if not name.strip():
            problems.append(f"the table name {table!r} is blank (set CENTRAL365_CENTRAL_TABLE)")
        if parsed is None or problems:
            raise SourceError(
                "Cannot use the database source: fix CENTRAL365_CENTRAL / "
                "CENTRAL365_CENTRAL_TABLE as described below.",
                problems=problems,
            )
        self.url = parsed
        self.table = table.strip()
        self.schema = schema.strip() or None
        self.name = name.strip()
        self.mapping = mapping or ColumnMapping()
        self.page_size = max(1, page_size)
        self.connect_timeout = max(1, connect_timeout)

    def __repr__(self) -> str:
        return f"SqlSource({self.describe()!r})"

    def describe(self) -> str:
        return (
            f"table {self.table} in {mask_secrets(self.url.render_as_string(hide_password=True))}"
        )

    def read(self) -> Iterator[CentralContact | RowProblem]:
        """Check the database, then stream the table's records in id order.

        :raises SourceError: at once (before anything is yielded), naming every problem found:
            unknown database type or missing driver, database unreachable, table or schema
            missing, required columns missing, no permission to read the table.
        """
        statement = self._check()
        provided = [str(c.name) for c in statement.selected_columns]
        return SourceRows(self._records(statement), provided)

    # -- the up-front check ---------------------------------------------------------------

    def _check(self) -> Select[Any]:
        try:
            engine = self._engine()
        except _Problems as err:
            raise self._error(err.problems) from None
        try:
            return self._check_with(engine)
        except _Problems as err:
            raise self._error(err.problems) from None
        except SQLAlchemyError as err:
            raise self._error([f"the database refused the check: {self._scrub(err)}"]) from None
        finally:
            engine.dispose()

    def _engine(self) -> Engine:
        backend = self.url.get_backend_name()
        driver = self.url.get_driver_name()
        if backend == "sqlite":
            self._check_sqlite_file()
        connect_args: dict[str, Any] = {}
        if (backend, driver) in _TIMEOUT_DRIVERS and "connect_timeout" not in self.url.query:
            connect_args["connect_timeout"] = self.connect_timeout
        try:
            # NullPool: every connection is closed when released, so nothing outlives a read.
            return create_engine(self.url, connect_args=connect_args, poolclass=NullPool)
        except NoSuchModuleError:
            raise _Problems(
                [f"'{self.url.drivername}' is not a database type SQLAlchemy knows ({_ACCEPTED})"]
            ) from None
        except ImportError as err:
            raise _Problems(
                [
                    f"the driver for '{self.url.drivername}' is not installed "
                    f"({err.name or err}); name an installed one ({_ACCEPTED})"
                ]
            ) from None
        except ArgumentError as err:
            raise _Problems([f"the database URL is not valid: {self._scrub(err)}"]) from None

    def _check_sqlite_file(self) -> None:
        # SQLite creates a missing file on connect; a typo must not become an empty database.
        database = self.url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return
        path = Path(database)
        if not path.exists():
            raise _Problems([f"the SQLite database file {path} does not exist"])
        if path.is_dir():
            raise _Problems([f"the SQLite database {path} is a directory, not a file"])

    def _check_with(self, engine: Engine) -> Select[Any]:
        try:
            connection = engine.connect()
        except DBAPIError as err:
            raise _Problems([self._connect_problem(err)]) from None
        with connection:
            inspector = inspect(connection)
            schema, name = self._find_table(inspector)
            infos = inspector.get_columns(name, schema)
            columns = [str(info["name"]) for info in infos]
            found = self.mapping.match(columns)
            if found.problems:
                listed = ", ".join(repr(c) for c in columns)
                raise _Problems([*found.problems, f"table {self.table} has: {listed}"])
            wanted = {canonical: columns[i] for canonical, i in found.positions.items()}
            true_false = [
                _boolean_problem(self.mapping.label(canonical))
                for canonical, i in found.positions.items()
                if _is_boolean(infos[i]["type"])
            ]
            if true_false:
                raise _Problems(true_false)
            source = table(
                name, *(column(c) for c in dict.fromkeys(wanted.values())), schema=schema
            )
            statement = select(
                *(source.c[real].label(canonical) for canonical, real in wanted.items())
            ).order_by(source.c[wanted["id"]])
            # Reading no rows still checks the privilege to read every column.
            connection.execute(statement.limit(0)).close()
            return statement

    def _find_table(
        self, inspector: Inspector, *, list_known: bool = True
    ) -> tuple[str | None, str]:
        """Schema and table as the database spells them: exact, else one case-insensitive match."""
        schema = self.schema
        if schema is not None:
            schemas = inspector.get_schema_names()
            schema = _one_match(schema, schemas)
            if schema is None:
                raise _Problems([f"schema '{self.schema}' does not exist in {self._database()}"])
        try:
            # Exact first, and the only way to find a table elsewhere on PostgreSQL's search_path.
            inspector.get_columns(self.name, schema)
        except NoSuchTableError:
            pass
        else:
            return schema, self.name
        names = [*inspector.get_table_names(schema), *inspector.get_view_names(schema)]
        name = _one_match(self.name, names)
        if name is None:
            where = f"schema '{schema}' of " if schema else ""
            missing = f"table or view '{self.name}' does not exist in {where}{self._database()}"
            if not list_known:
                raise _Problems([missing])
            known = ", ".join(sorted(names)[:20]) or "none"
            raise _Problems(
                [f"{missing} (set CENTRAL365_CENTRAL_TABLE; tables and views there: {known})"]
            )
        return schema, name

    def columns(self) -> ColumnReport:
        """Which canonical columns the table has, told without the database's own words.

        For a person who may see *that* the table is usable but not what the database holds
        (the web): no column or table names of the database, and one neutral sentence for any
        failure to connect.

        :raises SourceError: the driver is missing, the database cannot be reached, the table
            does not exist, or the database refused to describe it.
        """
        try:
            engine = self._engine()
        except _Problems as err:
            raise self._error(err.problems) from None
        try:
            try:
                connection = engine.connect()
            except DBAPIError as err:
                logger.debug("Cannot connect to %s: %s", self.describe(), self._scrub(err))
                raise _Problems([UNREACHABLE]) from None
            with connection:
                inspector = inspect(connection)
                schema, name = self._find_table(inspector, list_known=False)
                names = [str(info["name"]) for info in inspector.get_columns(name, schema)]
                return self.mapping.report(names)
        except _Problems as err:
            raise self._error(err.problems) from None
        except SQLAlchemyError as err:
            logger.debug("%s refused the check: %s", self.describe(), self._scrub(err))
            raise self._error(["the database refused to describe the table"]) from None
        finally:
            engine.dispose()

    # -- streaming ------------------------------------------------------------------------

    def _records(self, statement: Select[Any]) -> Iterator[CentralContact | RowProblem]:
        engine = self._engine_or_error()
        try:
            with engine.connect() as connection:
                # yield_per turns on a server-side cursor (psycopg named cursor, pymysql
                # SSCursor) and fetches page_size rows at a time.
                streaming = connection.execution_options(yield_per=self.page_size)
                # Closing the result first ends the server-side cursor cleanly even when the
                # caller stops early (pymysql must drain it before the connection's rollback).
                with streaming.execute(statement) as result:
                    columns = result.keys()  # the canonical labels, in the select's order
                    names = [str(name) for name in columns]
                    # The row's values in canonical order in one C call; a column the table
                    # lacks reads the blank value appended at the row's end.
                    pad = len(names) < len(CANONICAL_COLUMNS)
                    where = {name: i for i, name in enumerate(names)}
                    pick = itemgetter(*(where.get(c, len(names)) for c in CANONICAL_COLUMNS))
                    repeated, shared = repeated_positions(where), SharedValues()
                    # A page of rows at a time: SQLAlchemy's row-by-row fetch costs more
                    # Python per row than everything below.
                    rows = (row for page in result.partitions() for row in page)
                    for number, row in enumerate(rows, start=1):
                        try:
                            # Text and NULL, nearly every value, without a call each.
                            values = [
                                value
                                if type(value) is str
                                else ""
                                if value is None
                                else _value_text(value, name)
                                for value, name in zip(row, names, strict=True)
                            ]
                        except _TrueFalseValue as value:
                            yield RowProblem(
                                number, _boolean_problem(self.mapping.label(value.column))
                            )
                            continue
                        shared.share(values, repeated)
                        if pad:
                            values.append("")
                        yield CentralContact.from_values(pick(values))
        except SQLAlchemyError as err:
            raise self._error([f"reading stopped: {self._scrub(err)}"]) from None
        finally:
            engine.dispose()

    def _engine_or_error(self) -> Engine:
        try:
            return self._engine()
        except _Problems as err:
            raise self._error(err.problems) from None

    # -- messages -------------------------------------------------------------------------

    def _error(self, problems: Sequence[str]) -> SourceError:
        return SourceError(
            f"Cannot read Central's contacts from {self.describe()}: fix the problems below "
            "(CENTRAL365_CENTRAL, CENTRAL365_CENTRAL_TABLE) and try again.",
            problems=problems,
        )

    def _database(self) -> str:
        return f"database '{self.url.database}'" if self.url.database else "the database"

    def _connect_problem(self, err: DBAPIError) -> str:
        backend = self.url.get_backend_name()
        if backend == "sqlite":
            return f"SQLite cannot open {self.url.database}: {self._scrub(err)}"
        host = self.url.host or "localhost"
        port = self.url.port or _DEFAULT_PORTS.get(backend)
        if port is None:
            return f"cannot connect to {host}: {self._scrub(err)}"
        return f"cannot connect to {host}:{port}: {self._scrub(err)}"

    def _scrub(self, err: object) -> str:
        """A driver's message on one line, with the password (should a driver echo it) masked.

        For a `DBAPIError` that is the driver's own words, without SQLAlchemy's statement dump.
        """
        if isinstance(err, DBAPIError) and err.orig is not None:
            err = err.orig
        text = " ".join(str(err).split())
        password = self.url.password
        if password:
            text = text.replace(str(password), "***")
        return mask_secrets(text)


_BINARY = (bytes, bytearray, memoryview)
_DATES = (date, datetime, time)
#: Types whose values are not shown as Python prints them (prebuilt: checked for every value).
_CONVERTED = (*_BINARY, float, Decimal, *_DATES)


class _TrueFalseValue(Exception):
    """Internal: a row holds a boolean where Central shows text (`column` is canonical)."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


def _value_text(value: object, column: str) -> str:
    """A value that is not text, written the way Central shows it.

    Bytes (VARBINARY, BLOB) are read as UTF-8 text; whole numbers from REAL, FLOAT or NUMERIC
    columns lose their ".0" (a phone number stored as REAL reads 7700900001, not
    7700900001.0); dates and times are ISO 8601; other values (integers) as Python prints
    them.  A boolean has no words of its own in Central, so it is refused (`_TrueFalseValue`)
    rather than read as "True" or "1".
    """
    if isinstance(value, bool):
        raise _TrueFalseValue(column)
    if isinstance(value, _CONVERTED):
        return _central_text(value)
    return str(value)


def _central_text(value: object) -> str:
    if isinstance(value, _BINARY):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, Decimal):
        whole = value.is_finite() and value == value.to_integral_value()
        return format(value.to_integral_value(), "f") if whole else str(value)
    assert isinstance(value, _DATES)
    return value.isoformat()


def _is_boolean(column_type: TypeEngine[Any]) -> bool:
    """BOOLEAN, and MySQL's BOOL (a TINYINT(1): the one width MySQL still reports)."""
    if isinstance(column_type, Boolean):
        return True
    return type(column_type).__name__ == "TINYINT" and getattr(column_type, "display_width", 0) == 1


def _boolean_problem(label: str) -> str:
    return (
        f"column {label} holds true/false values, which Central shows as words: map a text "
        "column, or a view that spells the value out"
    )


def _one_match(wanted: str, names: Sequence[str]) -> str | None:
    """`wanted` if it is among `names`, else the single name equal to it ignoring case."""
    if wanted in names:
        return wanted
    matches = [n for n in names if n.casefold() == wanted.casefold()]
    return matches[0] if len(matches) == 1 else None


def _accepted(err: Exception) -> str:
    return f"{' '.join(str(err).split())}; {_ACCEPTED}"
