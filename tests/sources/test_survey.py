"""Surveys: what a source is told as to someone who may not see its content.

Columns by canonical name, counts, line numbers of unreadable rows — never a header name, a
byte, a row's content, a table's columns or a driver's message; and one sentence for any
failure to connect, so an answer never tells whether a port is open.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from central365.core.errors import SourceError
from central365.sources import ColumnMapping, CsvSource, SqlSource, write_csv
from central365.sources.sql_source import UNREACHABLE
from central365.sources.survey import MAX_BAD_LINES, survey

from .support import Database, hangup_server, sample_row

MARKER = "Do-Not-Show-7f3a"  # a value that must never reach a survey


def _text(found: object) -> str:
    return repr(found)


def test_a_usable_export_is_counted_with_its_bad_lines_by_number_only(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    rows = [sample_row(n) for n in range(1, 4)]
    rows[1]["status"] = "Inactive"
    write_csv(path, rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{MARKER},only two fields\n")
        handle.write(f'9,Active,"{MARKER}\n')  # an unterminated quote runs to the end

    found = survey(CsvSource(path))

    assert found.ok and found.records == 3 and found.active == 2
    assert found.bad_lines == (5, 6) and found.bad_line_count == 2
    assert found.columns is not None and found.columns.missing == ()
    assert MARKER not in _text(found)


def test_bad_lines_are_named_up_to_a_limit_and_counted_beyond(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    write_csv(path, [sample_row(1)])
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(f"{MARKER}\n" for _ in range(MAX_BAD_LINES + 5))

    found = survey(CsvSource(path))

    assert found.bad_line_count == MAX_BAD_LINES + 5
    assert found.bad_lines == tuple(range(3, 3 + MAX_BAD_LINES))


def test_missing_and_ambiguous_columns_are_named_canonically(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"ID,Id,status,first_name,{MARKER},Mobile\n1,1,A,Ann,x,y\n", encoding="utf-8")
    mapping = ColumnMapping(renames={"last_name": "Surname"})

    found = survey(CsvSource(path, mapping=mapping))

    assert not found.ok and found.records == 0
    columns = found.columns
    assert columns is not None
    assert columns.ambiguous == ("id",)
    assert columns.missing_required == ("last_name", "email")
    assert columns.labels["last_name"] == "'Surname' (mapped from 'last_name')"
    assert set(columns.found) == {"status", "first_name", "mobile"}
    assert MARKER not in _text(found) and "'ID'" not in _text(found)


def test_the_cli_still_sees_the_header_of_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"id,{MARKER}\n1,x\n", encoding="utf-8")

    with pytest.raises(SourceError) as caught:
        CsvSource(path).read()

    assert MARKER in caught.value.full_message()  # the operator's own file, on their terminal


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the file is empty: expected a header row naming the columns"),
        (b"id,status\n1,Andr\xe9\n", "the file is not UTF-8 from line 2 (re-export it as UTF-8)"),
    ],
)
def test_an_unreadable_export_says_why_without_its_bytes(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)

    found = survey(CsvSource(path))

    assert found.problems == (problem,) and not found.ok


def test_a_table_is_surveyed_without_its_column_names(sqlite_db: Database) -> None:
    table = sqlite_db.create_contacts([sample_row(1), sample_row(2)], names={"email": MARKER})

    found = survey(SqlSource(sqlite_db.url, table=table))

    assert not found.ok
    assert found.columns is not None and found.columns.missing_required == ("email",)
    assert MARKER not in _text(found)


def test_a_missing_table_does_not_list_the_others(sqlite_db: Database) -> None:
    sqlite_db.create_contacts([sample_row(1)])

    found = survey(SqlSource(sqlite_db.url, table="nope"))

    assert found.problems == (
        f"table or view 'nope' does not exist in database '{sqlite_db.url.split('///', 1)[1]}'",
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def open_port() -> Iterator[int]:
    """A port that accepts connections and hangs up at once (not a database)."""
    with hangup_server("127.0.0.1") as port:
        yield port


@pytest.mark.e2e
def test_an_open_and_a_closed_port_read_the_same(open_port: int) -> None:
    answers = []
    for port in (open_port, _closed_port()):
        source = SqlSource(
            f"postgresql+psycopg://admin:s3cret-pw@127.0.0.1:{port}/central", connect_timeout=2
        )
        answers.append(survey(source).problems)

    assert answers[0] == answers[1] == (UNREACHABLE,)
