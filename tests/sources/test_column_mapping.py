"""The mapping file and the header-matching rule both sources share."""

from __future__ import annotations

from pathlib import Path

import pytest

from central365.core.errors import ConfigError
from central365.sources import ColumnMapping, load_mapping


def _problems(path: Path) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    assert "CENTRAL365_CENTRAL_MAPPING" in caught.value.message
    return caught.value.problems


def test_loads_renames(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[columns]\nid = "ContactID"\nfirst_name = "Forename"\n')

    mapping = load_mapping(path)

    assert dict(mapping.renames) == {"id": "ContactID", "first_name": "Forename"}
    assert mapping.source_name("first_name") == "Forename"
    assert mapping.source_name("email") == "email"
    assert mapping.origin == path


def test_missing_file(tmp_path: Path) -> None:
    assert _problems(tmp_path / "nope.toml") == (
        f"mapping file {tmp_path / 'nope.toml'} does not exist",
    )


def test_malformed_toml(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text("[columns\nid = ContactID\n")

    (problem,) = _problems(path)

    assert problem.startswith(f"mapping file {path} is not valid TOML")


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[columns]\nidd = "ContactID"\nemail = ""\nstatus = 3\n[other]\nx = 1\n')

    problems = _problems(path)

    assert len(problems) == 4
    assert any("unknown table or key 'other'" in p for p in problems)
    assert any("maps unknown column 'idd'" in p and "first_name" in p for p in problems)
    assert any("email must be the source column's name" in p for p in problems)
    assert any("status must be" in p and "not 3" in p for p in problems)


def test_no_columns_table(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('id = "ContactID"\n')

    problems = _problems(path)

    assert any("no [columns] table" in p for p in problems)


def test_match_is_exact_then_case_and_space_insensitive() -> None:
    mapping = ColumnMapping(renames={"id": "ContactID"})

    found = mapping.match(["CONTACTID ", "Status", "first_name", "LAST_NAME", "email", "Email"])

    assert found.problems == ()
    assert dict(found.positions) == {
        "id": 0,
        "status": 1,
        "first_name": 2,
        "last_name": 3,
        "email": 4,
    }


def test_match_reports_ambiguous_and_missing_columns() -> None:
    found = ColumnMapping().match(["ID", "Id", "status", "first_name", "Title", "TITLE"])

    assert found.problems == (
        "column 'id' is ambiguous: it matches 'ID', 'Id'",
        "column 'title' is ambiguous: it matches 'Title', 'TITLE'",
        "required column 'last_name' is missing",
        "required column 'email' is missing",
    )
