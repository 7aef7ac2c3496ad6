"""SourcePolicy on its own: the import folder's edges, the data folder inside it, hosts, queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from central365.config import Settings
from central365.web.source_policy import OUTSIDE, Allowed, Refused, SourcePolicy


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An import folder that (carelessly) holds the data folder and a settings file."""
    (tmp_path / "data" / "uploads").mkdir(parents=True)
    (tmp_path / "data" / "secret.key").write_text("key")
    (tmp_path / "data" / "central365.db").write_text("db")
    (tmp_path / "data" / "backup.csv").write_text("id\n")
    (tmp_path / "central365.toml").write_text('client_secret = "x"\n')
    (tmp_path / "export.csv").write_text("id\n")
    (tmp_path / "central.db").write_text("")
    return tmp_path


def policy(root: Path, **changes: object) -> SourcePolicy:
    values: dict[str, object] = {"import_dir": root, "data_dir": root / "data"}
    values.update(changes)
    return SourcePolicy.of(Settings.model_validate(values))


@pytest.mark.parametrize(
    "url",
    [
        "csv:data/secret.key",
        "csv:data/central365.db",
        "csv:data/backup.csv",  # a CSV, but in the data folder
        "csv:central365.toml",
        "csv:/etc/passwd",
        "csv:../x.csv",
        "sqlite:///data/central365.db",
    ],
)
def test_nothing_of_the_data_folder_or_outside_is_allowed(root: Path, url: str) -> None:
    verdict = policy(root).check(url, "")

    assert isinstance(verdict, Refused)


def test_a_refusal_does_not_tell_whether_the_file_exists(root: Path) -> None:
    answers = {policy(root).check(f"csv:{root.parent / name}", "") for name in ("x.csv", "y.csv")}
    (root.parent / "x.csv").write_text("id\n")
    answers |= {policy(root).check(f"csv:{root.parent / 'x.csv'}", "")}

    assert answers == {Refused(OUTSIDE)}


def test_exports_and_sqlite_files_of_the_import_folder_are_allowed_by_real_path(
    root: Path,
) -> None:
    assert policy(root).check("csv:export.csv", "") == Allowed(f"csv:{root / 'export.csv'}")
    assert policy(root).check("sqlite:///central.db", "") == Allowed(
        f"sqlite:///{root / 'central.db'}"
    )
    assert policy(root).import_files() == ["export.csv"]


def test_the_stored_upload_and_no_other_upload(root: Path) -> None:
    upload = root / "data" / "uploads" / ("a" * 32 + ".csv")
    upload.write_text("id\n")
    other = root / "data" / "uploads" / ("b" * 32 + ".csv")
    other.write_text("id\n")

    assert policy(root).check(f"csv:{upload}", f"csv:{upload}") == Allowed(f"csv:{upload}")
    assert isinstance(policy(root).check(f"csv:{other}", f"csv:{upload}"), Refused)


def test_hosts_default_to_the_start_up_host_and_loopback(tmp_path: Path) -> None:
    start_up = "postgresql+psycopg://central@DB.Internal./crm"
    rules = policy(tmp_path, central=start_up)

    assert rules.check(start_up, "") == Allowed(start_up)
    assert isinstance(rules.check("postgresql+psycopg://c@db.internal:6432/other", ""), Allowed)
    assert isinstance(rules.check("mysql+pymysql://c@[::1]/crm", ""), Allowed)
    assert isinstance(rules.check("postgresql+psycopg://c@db.external/crm", ""), Refused)
    assert isinstance(rules.check("postgresql+psycopg:///crm", ""), Refused)  # a local socket
    assert isinstance(rules.check("weird+driver://c@localhost/crm", ""), Refused)


def test_set_hosts_replace_the_default(tmp_path: Path) -> None:
    rules = policy(tmp_path, central_hosts="db1.internal, db2.internal")

    assert isinstance(rules.check("postgresql+psycopg://c@db2.internal/crm", ""), Allowed)
    assert isinstance(rules.check("postgresql+psycopg://c@localhost/crm", ""), Refused)


@pytest.mark.parametrize(
    "query",
    ["driver=/srv/evil.so", "driver=..%5Cevil.dll", "connect_timeout=100000", "connect_timeout=x"],
)
def test_harmless_parameters_with_harmful_values_are_refused(tmp_path: Path, query: str) -> None:
    rules = policy(tmp_path)

    assert isinstance(rules.check(f"mssql+pyodbc://c@localhost/crm?{query}", ""), Refused)
    assert isinstance(
        rules.check("mssql+pyodbc://c@localhost/crm?driver=ODBC+Driver+18&connect_timeout=5", ""),
        Allowed,
    )
