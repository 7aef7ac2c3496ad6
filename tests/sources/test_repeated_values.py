"""A source keeps one string per repeated value (status, title, town…) and reads the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from central365.core.model import CentralContact, RowProblem
from central365.demo.data import write_sqlite
from central365.sources import CsvSource, SqlSource, write_csv
from central365.sources.repeats import REPEATED_COLUMNS, SharedValues, repeated_positions


def _rows() -> list[dict[str, str]]:
    return [
        {
            "id": str(n),
            "status": "active",
            "first_name": f"First{n}",
            "last_name": "Lee",
            "email": f"p{n}@example.com",
            "home_town": "Leeds",
            "business_country": "United Kingdom",
        }
        for n in range(3)
    ]


def _records(source: CsvSource | SqlSource) -> list[CentralContact]:
    read = list(source.read())
    assert not [r for r in read if isinstance(r, RowProblem)]
    return [r for r in read if isinstance(r, CentralContact)]


@pytest.mark.parametrize("kind", ["csv", "sqlite"])
def test_repeated_values_are_one_string(tmp_path: Path, kind: str) -> None:
    rows = _rows()
    if kind == "csv":
        write_csv(tmp_path / "c.csv", rows)
        source: CsvSource | SqlSource = CsvSource(tmp_path / "c.csv")
    else:
        write_sqlite(tmp_path / "c.db", rows)
        source = SqlSource(f"sqlite:///{tmp_path / 'c.db'}")

    first, second, third = _records(source)

    assert [r.key for r in (first, second, third)] == ["0", "1", "2"]
    assert first == CentralContact.from_row(rows[0], first.line)
    assert first.status is second.status is third.status
    assert first.home.town is second.home.town
    assert first.business.country is third.business.country


def test_repeated_positions_name_each_source_column_once() -> None:
    positions = {"id": 0, "status": 1, "home_town": 4, "business_town": 4}
    assert repeated_positions(positions) == (1, 4)
    assert set(REPEATED_COLUMNS) >= {"status", "title", "home_town", "business_postcode"}


def test_sharing_stops_growing_at_its_limit() -> None:
    shared = SharedValues(limit=2)
    rows = [[f"{n}x", "z"] for n in range(4)]  # built at run time: four distinct strings
    for row in rows:
        shared.share(row, (0,))
    again = [str(n) + "x" for n in range(4)]
    for value in again:
        shared.share(probe := [value], (0,))
        # The first two values are held, the later ones pass through as they are.
        assert probe[0] is (rows[int(value[0])][0] if int(value[0]) < 2 else value)
