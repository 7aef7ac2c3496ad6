"""SqlSource against SQLite, PostgreSQL and MariaDB: columns, mapping, paging and every error."""

from __future__ import annotations

import datetime as dt
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, make_url, text

from central365.core.errors import SourceError
from central365.core.model import CANONICAL_COLUMNS, CentralContact, RowProblem
from central365.core.ports import SourceRows
from central365.sources import SqlSource, load_mapping
from central365.sources.column_mapping import ColumnMapping
from central365.sources.sql_source import _as_text, _TrueFalseValue

from .support import Database, sample_row, unique_name


def _contacts(source: SqlSource) -> list[CentralContact]:
    records = list(source.read())
    assert not [r for r in records if isinstance(r, RowProblem)]
    return [r for r in records if isinstance(r, CentralContact)]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_reads_every_column_as_text_in_id_order(any_db: Database) -> None:
    rows = [sample_row(n) for n in (3, 1, 2)]
    rows[0]["website"] = None  # type: ignore[assignment]
    table = any_db.create_contacts(rows)

    records = _contacts(SqlSource(any_db.url, table=table))

    assert [r.key for r in records] == ["1", "2", "3"]
    first = records[0]
    assert first == CentralContact.from_row(sample_row(1))
    assert first.line is None
    assert records[2].website == ""


def test_pages_through_a_large_table_once_in_id_order(any_db: Database) -> None:
    table = any_db.create_contacts([sample_row(n) for n in range(1, 5001)])

    records = _contacts(SqlSource(any_db.url, table=table, page_size=97))

    assert [r.key for r in records] == [str(n) for n in range(1, 5001)]


def test_mapping_reads_renamed_and_mixed_case_columns(any_db: Database, tmp_path: Path) -> None:
    names = {"id": "ContactID", "first_name": "Forename", "email": "E-mail Address"}
    table = any_db.create_contacts([sample_row(1), sample_row(2)], names=names)
    mapping_file = tmp_path / "mapping.toml"
    mapping_file.write_text(
        '[columns]\nid = "ContactID"\nfirst_name = "Forename"\nemail = "E-mail Address"\n'
    )

    records = _contacts(SqlSource(any_db.url, table=table, mapping=load_mapping(mapping_file)))

    assert [(r.key, r.first_name, r.email) for r in records] == [
        ("1", "first_name-1", "person1@example.com"),
        ("2", "first_name-2", "person2@example.com"),
    ]


def test_optional_columns_may_be_absent(any_db: Database) -> None:
    table = any_db.create_contacts([sample_row(1)], omit=["title", "home_town"])

    (record,) = _contacts(SqlSource(any_db.url, table=table))

    assert (record.title, record.home.town, record.home.county) == ("", "", "home_county-1")
    rows = SqlSource(any_db.url, table=table).read()
    assert isinstance(rows, SourceRows)
    assert rows.provided == set(CANONICAL_COLUMNS) - {"title", "home_town"}
    rows.close()


def test_missing_required_columns_are_all_named(any_db: Database) -> None:
    table = any_db.create_contacts([sample_row(1)], omit=["email", "status"])
    source = SqlSource(any_db.url, table=table)

    with pytest.raises(SourceError) as caught:
        source.read()

    problems = "\n".join(caught.value.problems)
    assert "required column 'email' is missing" in problems
    assert "required column 'status' is missing" in problems


def test_missing_mapped_column_names_both_names(any_db: Database) -> None:
    table = any_db.create_contacts([sample_row(1)])
    mapping = ColumnMapping(renames={"id": "ContactID"})

    with pytest.raises(SourceError) as caught:
        SqlSource(any_db.url, table=table, mapping=mapping).read()

    assert "'ContactID' (mapped from 'id')" in caught.value.full_message()


def test_missing_table_is_an_error_before_anything_is_read(any_db: Database) -> None:
    any_db.create_contacts([sample_row(1)])  # the database exists, with another table in it
    missing = f"{any_db.schema}.no_such_table" if any_db.schema else "no_such_table"
    source = SqlSource(any_db.url, table=missing)

    with pytest.raises(SourceError) as caught:
        source.read()

    assert "'no_such_table' does not exist" in caught.value.full_message()
    assert "CENTRAL365_CENTRAL_TABLE" in caught.value.full_message()


def test_table_name_matches_case_insensitively(any_db: Database) -> None:
    table = any_db.create_contacts([sample_row(1)])

    (record,) = _contacts(SqlSource(any_db.url, table=table.upper().replace("C365", "c365")))

    assert record.key == "1"


def test_reads_a_view(any_db: Database) -> None:
    table = any_db.create_contacts([sample_row(1), sample_row(2)])
    view = f"{table}_v"
    with any_db.engine.begin() as connection:
        connection.execute(text(f"CREATE VIEW {view} AS SELECT * FROM {table} WHERE id > 1"))

    records = _contacts(SqlSource(any_db.url, table=view))

    assert [r.key for r in records] == ["2"]


def test_an_abandoned_read_closes_its_connection(any_db: Database) -> None:
    table = any_db.create_contacts([sample_row(n) for n in range(1, 50)])
    records = SqlSource(any_db.url, table=table, page_size=5).read()

    assert next(records).key == "1"  # type: ignore[union-attr]
    records.close()  # type: ignore[attr-defined]
    # filterwarnings=error turns a leaked connection into a failure at collection


def test_unread_generator_holds_nothing(any_db: Database) -> None:
    table = any_db.create_contacts([sample_row(1)])

    SqlSource(any_db.url, table=table).read()  # checked, never iterated: nothing to close


@pytest.mark.db
def test_postgres_schema_missing(pg_db: Database) -> None:
    with pytest.raises(SourceError) as caught:
        SqlSource(pg_db.url, table="no_such_schema_x.contacts").read()

    assert "schema 'no_such_schema_x' does not exist" in caught.value.full_message()


@pytest.mark.db
def test_mariadb_schema_qualified_table(mariadb_db: Database) -> None:
    table = mariadb_db.create_contacts([sample_row(7)])

    (record,) = _contacts(SqlSource(mariadb_db.url, table=f"test.{table}"))

    assert record.key == "7"


@pytest.mark.db
def test_postgres_dates_and_numbers_become_text(pg_db: Database) -> None:
    name = f"{pg_db.schema}.typed"
    with pg_db.engine.begin() as connection:
        connection.execute(
            text(
                f"CREATE TABLE {name} (id bigint primary key, status text, first_name text, "
                "last_name date, email numeric(5, 2))"
            )
        )
        connection.execute(text(f"INSERT INTO {name} VALUES (1, NULL, 'Ann', '2024-02-29', 12.5)"))

    (record,) = _contacts(SqlSource(pg_db.url, table=name))

    assert (record.key, record.status, record.last_name, record.email) == (
        "1",
        "",
        "2024-02-29",
        "12.50",
    )


def test_sqlite_bytes_and_dates_become_text(sqlite_db: Database) -> None:
    with sqlite_db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE contacts (id, status, first_name, last_name, email)"))
        connection.execute(
            text("INSERT INTO contacts VALUES (1, :status, 'Ann', :day, NULL)"),
            {"status": b"Active", "day": dt.date(2024, 2, 29).isoformat()},
        )

    (record,) = _contacts(SqlSource(sqlite_db.url))

    assert (record.status, record.last_name, record.email) == ("Active", "2024-02-29", "")


def test_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope.db"

    with pytest.raises(SourceError) as caught:
        SqlSource(f"sqlite:///{path}").read()

    assert f"{path} does not exist" in caught.value.full_message()
    assert not path.exists()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "scheme", ["postgresql+psycopg", "mysql+pymysql"], ids=["postgresql", "mariadb"]
)
def test_unreachable_database_is_a_quick_clear_error(scheme: str) -> None:
    port = _closed_port()
    source = SqlSource(f"{scheme}://admin:s3cret-pw@127.0.0.1:{port}/central", connect_timeout=2)

    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        source.read()

    assert time.monotonic() - started < 5
    message = caught.value.full_message()
    assert f"cannot connect to 127.0.0.1:{port}" in message
    assert "s3cret-pw" not in message
    assert "admin:***@" in message


def test_describe_hides_the_password() -> None:
    source = SqlSource("postgresql+psycopg://user:hunter2@db.example/central", table="crm.people")

    assert (
        source.describe() == "table crm.people in postgresql+psycopg://user:***@db.example/central"
    )


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://user:hunter2@db.example:notaport/central",
        "not a url ://user:hunter2@x",
        "postgresql+psycopg://user:hun@ter2@db.example/central",
    ],
)
def test_bad_url_is_a_source_error_without_the_password(url: str) -> None:
    with pytest.raises(SourceError) as caught:
        SqlSource(url)

    assert "hunter2" not in caught.value.full_message()
    assert "ter2" not in caught.value.full_message()


def test_unknown_database_type_is_named() -> None:
    with pytest.raises(SourceError) as caught:
        SqlSource("oracle9+nodriver://user:pw@host/db").read()

    assert "'oracle9+nodriver' is not a database type" in caught.value.full_message()


def test_blank_table_name_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="CENTRAL365_CENTRAL_TABLE"):
        SqlSource("sqlite:///x.db", table="  ")


def test_canonical_columns_are_the_whole_record(sqlite_db: Database) -> None:
    table = sqlite_db.create_contacts([sample_row(1)])

    (record,) = _contacts(SqlSource(sqlite_db.url, table=table))

    assert len(CANONICAL_COLUMNS) == 23
    assert record.business.postcode == "business_postcode-1"


def test_missing_driver_is_named() -> None:
    # mysql+mysqldb needs mysqlclient, which central365 does not install (it uses pymysql).
    with pytest.raises(SourceError) as caught:
        SqlSource("mysql+mysqldb://user:pw@127.0.0.1/db").read()

    message = caught.value.full_message()
    assert "the driver for 'mysql+mysqldb' is not installed (MySQLdb)" in message
    assert "mysql+pymysql://" in message


@pytest.mark.db
@pytest.mark.parametrize(
    ("fixture", "cursor_class"),
    [("pg_db", "ServerCursor"), ("mariadb_db", "SSCursor")],
    ids=["postgresql", "mariadb"],
)
def test_rows_come_through_a_server_side_cursor(
    request: pytest.FixtureRequest, fixture: str, cursor_class: str
) -> None:
    database = request.getfixturevalue(fixture)
    assert isinstance(database, Database)
    table = database.create_contacts([sample_row(n) for n in range(1, 30)])
    cursors: list[str] = []

    def record(conn: object, cursor: object, *args: object) -> None:
        cursors.append(type(cursor).__name__)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        records = _contacts(SqlSource(database.url, table=table, page_size=4))
    finally:
        event.remove(Engine, "before_cursor_execute", record)

    assert len(records) == 29
    assert cursors[-1] == cursor_class  # the last statement is the one that streams


@pytest.mark.db
def test_no_permission_to_read_is_an_error_up_front(pg_db: Database) -> None:
    table = pg_db.create_contacts([sample_row(1)])
    role = unique_name("c365_reader")
    with pg_db.engine.begin() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{pg_db.schema}" TO "{role}"'))
    try:
        url = make_url(pg_db.url).set(username=role)
        source = SqlSource(url.render_as_string(hide_password=False), table=table)
        with pytest.raises(SourceError) as caught:
            source.read()
    finally:
        with pg_db.engine.begin() as connection:
            connection.execute(text(f'REVOKE ALL ON SCHEMA "{pg_db.schema}" FROM "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))

    (problem,) = caught.value.problems
    assert problem.startswith("the database refused the check: permission denied for table")


def test_whole_numbers_lose_their_point_and_dates_are_iso(any_db: Database) -> None:
    """Phone numbers kept as REAL or NUMERIC read as Central shows them, not "7700900001.0"."""
    name = unique_name()
    any_db.owned_tables.append(name)
    with any_db.engine.begin() as connection:
        connection.execute(
            text(
                f"CREATE TABLE {name} (id NUMERIC(12, 0) primary key, status VARCHAR(20), "
                "first_name VARCHAR(20), last_name VARCHAR(20), email VARCHAR(50), "
                "mobile REAL, telephone NUMERIC(14, 2), website DECIMAL(6, 2), title DATE)"
            )
        )
        connection.execute(
            text(
                f"INSERT INTO {name} VALUES (7, 'Active', 'Ann', 'Lee', 'ann@example.com', "
                "770090.0, 7700900001.00, 12.5, '2024-02-29')"
            )
        )

    (record,) = _contacts(SqlSource(any_db.url, table=name))

    assert (record.key, record.mobile, record.telephone, record.title) == (
        "7",
        "770090",
        "7700900001",
        "2024-02-29",
    )
    assert record.website in ("12.50", "12.5")  # a fraction is kept as the database writes it


def test_a_true_false_column_is_refused_with_its_name(any_db: Database) -> None:
    name = unique_name()
    any_db.owned_tables.append(name)
    with any_db.engine.begin() as connection:
        connection.execute(
            text(
                f"CREATE TABLE {name} (id INTEGER primary key, status BOOLEAN, "
                "first_name VARCHAR(20), last_name VARCHAR(20), email VARCHAR(50))"
            )
        )
        connection.execute(text(f"INSERT INTO {name} VALUES (1, TRUE, 'Ann', 'Lee', 'a@x.com')"))

    with pytest.raises(SourceError) as raised:
        list(SqlSource(any_db.url, table=name).read())

    assert any("column 'status' holds true/false values" in p for p in raised.value.problems)


def test_a_true_false_value_the_table_does_not_declare_is_refused() -> None:
    """A driver handing a bool for a column reflected as text is caught per value too."""
    with pytest.raises(_TrueFalseValue) as raised:
        _as_text({"id": 1, "status": True})
    assert raised.value.column == "status"
    assert _as_text({"id": 1, "mobile": 7700900001.0}) == {"id": 1, "mobile": "7700900001"}
