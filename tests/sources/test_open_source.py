"""open_source: which spec becomes which adapter, and the errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from central365.core.errors import ConfigError, SourceError
from central365.sources import CsvSource, SqlSource, open_source


def test_csv_spec(tmp_path: Path) -> None:
    source = open_source(f"csv:{tmp_path / 'x.csv'}")

    assert isinstance(source, CsvSource)
    assert source.describe() == f"CSV file {tmp_path / 'x.csv'}"


def test_database_url_with_table_and_mapping(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\nid = "ContactID"\n')

    source = open_source(
        "postgresql+psycopg://central:pw@db.example:5433/crm",
        table="crm.contacts",
        mapping_path=mapping,
    )

    assert isinstance(source, SqlSource)
    assert source.describe() == (
        "table crm.contacts in postgresql+psycopg://central:***@db.example:5433/crm"
    )
    assert source.mapping.source_name("id") == "ContactID"


@pytest.mark.parametrize("spec", ["", "   "])
def test_blank_spec(spec: str) -> None:
    with pytest.raises(ConfigError, match="not set"):
        open_source(spec)


def test_unknown_form_says_what_is_accepted() -> None:
    with pytest.raises(ConfigError) as caught:
        open_source("exports/contacts.csv")

    assert "csv:PATH" in caught.value.message
    assert "did you mean csv:exports/contacts.csv?" in caught.value.problems[0]


def test_csv_without_a_path() -> None:
    with pytest.raises(ConfigError, match="names no file"):
        open_source("csv:")


def test_bad_mapping_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        open_source(f"csv:{tmp_path / 'x.csv'}", mapping_path=tmp_path / "missing.toml")

    assert "missing.toml does not exist" in caught.value.problems[0]


def test_bad_url_is_a_source_error_without_the_password() -> None:
    with pytest.raises(SourceError) as caught:
        open_source("mysql+pymysql://root:topsecret@host:port/db")

    assert "topsecret" not in caught.value.full_message()
