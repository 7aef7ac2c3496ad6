"""CsvSource: encodings, dialects, headers, line numbers, bad rows and bad files."""

from __future__ import annotations

import csv
import io
import os
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import pytest

from central365.core.errors import SourceError
from central365.core.model import CANONICAL_COLUMNS, CentralContact, RowProblem
from central365.core.ports import SourceRows
from central365.sources import CsvSource, load_mapping, write_csv
from central365.sources.column_mapping import ColumnMapping

from .support import sample_row

HEADER = list(CANONICAL_COLUMNS)


def _csv_text(rows: Sequence[Sequence[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _values(n: int) -> list[str]:
    row = sample_row(n)
    return [row[c] for c in CANONICAL_COLUMNS]


def _read(path: Path, mapping: ColumnMapping | None = None) -> list[CentralContact | RowProblem]:
    return list(CsvSource(path, mapping=mapping).read())


def _error(path: Path, mapping: ColumnMapping | None = None) -> SourceError:
    with pytest.raises(SourceError) as caught:
        CsvSource(path, mapping=mapping).read()
    return caught.value


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no-bom", "bom"])
def test_reads_utf8_with_or_without_bom(tmp_path: Path, bom: bytes) -> None:
    path = tmp_path / "export.csv"
    rows = [HEADER, _values(1), _values(2)]
    rows[1][3] = "Zoë"
    path.write_bytes(bom + _csv_text(rows).encode())

    records = _read(path)

    assert records == [
        CentralContact.from_row({**sample_row(1), "first_name": "Zoë"}, line=2),
        CentralContact.from_row(sample_row(2), line=3),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t", ","], ids=["semicolon", "tab", "comma"])
def test_sniffs_the_delimiter(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "export.csv"
    first = _values(1)
    first[6] = "has, a comma; and a semicolon"
    path.write_text(_csv_text([HEADER, first, _values(2)], delimiter), encoding="utf-8")

    records = _read(path)

    assert [r.key for r in records if isinstance(r, CentralContact)] == ["1", "2"]
    assert isinstance(records[0], CentralContact)
    assert records[0].mobile == "has, a comma; and a semicolon"


def test_doubled_quotes_after_the_sniffed_sample_are_read(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    late = _values(3000)
    late[3] = 'Ann "Nan"'
    rows = [HEADER, *(_values(n) for n in range(1, 3000)), late]
    path.write_text(_csv_text(rows), encoding="utf-8")

    records = _read(path)

    assert isinstance(records[-1], CentralContact)
    assert records[-1].first_name == 'Ann "Nan"'
    assert len(records) == 3000


def test_quoted_newlines_keep_line_numbers_physical(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    first = _values(1)
    first[9] = "Flat 2\nThe Mews\nHigh St"  # three physical lines
    third = _values(3)
    third[2] = "Dr,\r\nPhD"
    path.write_text(_csv_text([HEADER, first, _values(2), third, _values(4)]), encoding="utf-8")

    records = _read(path)

    assert [(r.key, r.line) for r in records if isinstance(r, CentralContact)] == [
        ("1", 2),
        ("2", 5),
        ("3", 6),
        ("4", 8),
    ]
    assert isinstance(records[0], CentralContact)
    assert records[0].home.line1 == "Flat 2\nThe Mews\nHigh St"
    assert isinstance(records[2], CentralContact)
    assert records[2].title == "Dr,\r\nPhD"


def test_broken_row_is_a_row_problem_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    first = _values(1)
    first[9] = "two\nlines"
    text = _csv_text([HEADER, first]) + "9,Active,Mr,Bad,Row\r\n" + _csv_text([_values(2)])
    path.write_text(text, encoding="utf-8")

    records = _read(path)

    assert records[1] == RowProblem(line=4, message="row has 5 fields, expected 23")
    assert [(r.key, r.line) for r in records if isinstance(r, CentralContact)] == [
        ("1", 2),
        ("2", 5),
    ]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    text = _csv_text([HEADER, _values(1)]) + "\r\n" + ",,,\r\n" + _csv_text([_values(2)]) + "\n"
    path.write_text(text, encoding="utf-8")

    records = _read(path)

    assert [(r.key, r.line) for r in records if isinstance(r, CentralContact)] == [
        ("1", 2),
        ("2", 5),
    ]
    assert len(records) == 2


def test_values_are_untrimmed_and_optional_columns_may_be_absent(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "id,status,first_name,last_name,email\n7, Active ,  Ann,Lee ,ann@example.com\n",
        encoding="utf-8",
    )

    (record,) = _read(path)

    assert record == CentralContact(
        key="7",
        status=" Active ",
        first_name="  Ann",
        last_name="Lee ",
        email="ann@example.com",
        line=2,
    )


def test_mapping_file_and_loose_header_matching(tmp_path: Path) -> None:
    mapping_file = tmp_path / "central.toml"
    mapping_file.write_text('[columns]\nid = "ContactID"\nfirst_name = "Forename"\n')
    path = tmp_path / "export.csv"
    path.write_text(
        " contactid ;STATUS;Forename;Last_Name;Email;Mobile\n42;Active;Ann;Lee;a@x.org;07700\n",
        encoding="utf-8",
    )

    (record,) = _read(path, load_mapping(mapping_file))

    assert isinstance(record, CentralContact)
    assert (record.key, record.status, record.first_name, record.last_name) == (
        "42",
        "Active",
        "Ann",
        "Lee",
    )
    assert (record.email, record.mobile, record.telephone) == ("a@x.org", "07700", "")


def test_the_rows_say_which_columns_the_header_has(tmp_path: Path) -> None:
    """A missing column is "not provided", not blank: the planner must be able to tell."""
    mapping_file = tmp_path / "central.toml"
    mapping_file.write_text('[columns]\nid = "ContactID"\n')
    path = tmp_path / "export.csv"
    path.write_text(
        "ContactID,status,first_name,last_name,email,MOBILE\n1,Active,Ann,Lee,a@x.org,07700\n",
        encoding="utf-8",
    )

    rows = CsvSource(path, mapping=load_mapping(mapping_file)).read()

    assert isinstance(rows, SourceRows)
    assert rows.provided == {"id", "status", "first_name", "last_name", "email", "mobile"}
    assert [r.key for r in rows if isinstance(r, CentralContact)] == ["1"]


def test_exact_header_wins_over_a_case_insensitive_one(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "id,status,first_name,last_name,email,EMAIL\n1,A,Ann,Lee,right@x.org,wrong@x.org\n",
        encoding="utf-8",
    )

    (record,) = _read(path)

    assert isinstance(record, CentralContact)
    assert record.email == "right@x.org"


def test_missing_columns_are_all_named(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("ContactID,status,first_name\n1,Active,Ann\n", encoding="utf-8")
    mapping = ColumnMapping(renames={"id": "ContactID", "last_name": "Surname"})

    problems = _error(path, mapping).problems

    assert "required column 'Surname' (mapped from 'last_name') is missing" in problems
    assert "required column 'email' is missing" in problems
    assert not any("ContactID" in p and "missing" in p for p in problems)


def test_not_utf8_names_the_line_and_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    body = _csv_text([HEADER, _values(1)]).encode() + b"2,Active,Mr,Ren\xe9,Lee\r\n"
    path.write_bytes(body)

    error = _error(path)

    offset = body.index(b"\xe9")
    assert error.problems == (
        f"the file is not UTF-8: line 3 has the byte 0xe9 at byte offset {offset} "
        "(re-export it as UTF-8)",
    )
    assert "export.csv" in error.message


def test_not_utf8_and_missing_columns_in_one_error(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"id;status;first_name;last_name\n1;A;Andr\xe9;Lee\n")

    problems = _error(path).problems

    assert len(problems) == 3
    assert problems[0].startswith("the file is not UTF-8: line 2")
    assert problems[1] == "required column 'email' is missing"


def test_missing_file(tmp_path: Path) -> None:
    error = _error(tmp_path / "nope.csv")

    assert error.problems == (f"{tmp_path / 'nope.csv'} does not exist",)
    assert "CENTRAL365_CENTRAL" in error.message


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    assert _error(tmp_path).problems == (f"{tmp_path} is a directory, not a CSV file",)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id\n")
    path.chmod(0)

    assert _error(path).problems == (f"{path} cannot be read (permission denied)",)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\r\n  \n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)

    assert _error(path).problems == ("the file is empty: expected a header row naming the columns",)


def test_header_only_reads_nothing(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(",".join(HEADER) + "\n", encoding="utf-8")

    assert _read(path) == []


def test_read_checks_before_the_first_record_is_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id,status\n1,A\n", encoding="utf-8")
    source = CsvSource(path)

    with pytest.raises(SourceError):
        source.read()  # not iterated: the check is not deferred to the first next()


def test_describe(tmp_path: Path) -> None:
    assert CsvSource(tmp_path / "x.csv").describe() == f"CSV file {tmp_path / 'x.csv'}"


def test_write_csv_round_trips_mappings_and_records(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    record = CentralContact.from_row(sample_row(2))
    write_csv(path, [{**sample_row(1), "title": None, "website": 'a "b", c\nd'}, record])

    records = _read(path)

    assert records == [
        CentralContact.from_row({**sample_row(1), "title": "", "website": 'a "b", c\nd'}, line=2),
        CentralContact.from_row(sample_row(2), line=4),
    ]


def test_a_large_export_streams_in_modest_memory(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    write_csv(path, (sample_row(n) for n in range(1, 20_001)))

    tracemalloc.start()
    try:
        count = sum(1 for record in CsvSource(path).read() if isinstance(record, CentralContact))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 20_000
    assert peak < 3_000_000  # a list of 20,000 records would take over 20 MB
