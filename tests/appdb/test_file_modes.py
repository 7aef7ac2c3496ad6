"""Files central365 writes are 0600 and the folders it makes 0700, whatever the umask.

Every test runs under a umask of 022 (the usual default, which would leave new files readable
by every account on the machine), so only an explicit mode passes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from central365.appdb import Database, migrate, open_database
from central365.appdb.crypto import load_or_create_key_file
from central365.demo.run import DemoOptions, DemoStack
from central365.graph.auth import DeviceCodeAuth
from central365.private_files import private_folder, write_private_text
from tests.graph.test_auth import FakePublicApp


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def write_something(database: Database) -> None:
    with database.session(write=True) as s, s.begin():
        s.execute(text("CREATE TABLE IF NOT EXISTS probe (n INTEGER)"))
        s.execute(text("INSERT INTO probe VALUES (1)"))


def test_the_application_database_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "new" / "data" / "central365.db"
    url = f"sqlite:///{path}"
    migrate(url)
    with open_database(url) as database, database.connect():
        write_something(database)
        wal, shm = (path.with_name(path.name + s) for s in ("-wal", "-shm"))
        assert wal.exists() and shm.exists()  # WAL mode, while a connection is open
        assert {p.name: mode(p) for p in (path, wal, shm)} == {
            "central365.db": 0o600,
            "central365.db-wal": 0o600,
            "central365.db-shm": 0o600,
        }
    assert mode(tmp_path / "new") == 0o700
    assert mode(tmp_path / "new" / "data") == 0o700


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    migrate(f"sqlite:///{shared / 'central365.db'}")
    assert mode(shared) == 0o755
    assert mode(shared / "central365.db") == 0o600


def test_a_readable_database_left_by_an_older_version_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "central365.db"
    migrate(f"sqlite:///{path}")
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.touch()
        leftover.chmod(0o644)
    with open_database(f"sqlite:///{path}") as database:
        write_something(database)
        assert mode(path) == 0o600
        assert mode(path.with_name(path.name + "-wal")) == 0o600
        assert mode(path.with_name(path.name + "-shm")) == 0o600


def test_the_key_file_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    key = tmp_path / "data" / "secret.key"
    load_or_create_key_file(key)
    assert (mode(key), mode(key.parent)) == (0o600, 0o700)


def test_the_device_code_token_cache_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    cache_file = tmp_path / "cache" / "central365" / "token-cache.json"

    def factory(cache: Any) -> FakePublicApp:
        return FakePublicApp(cache, cached_account=False)

    auth = DeviceCodeAuth(
        "organizations", "cid", cache_file, show=lambda _: None, app_factory=factory
    )
    assert auth.token() == "device"
    assert mode(cache_file) == 0o600
    assert mode(cache_file.parent) == mode(tmp_path / "cache") == 0o700


def test_write_private_text_replaces_a_readable_file_with_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o644)
    (tmp_path / "settings.toml.tmp").write_text("stale", encoding="utf-8")
    write_private_text(path, "new")
    assert (path.read_text(encoding="utf-8"), mode(path)) == ("new", 0o600)
    assert not (tmp_path / "settings.toml.tmp").exists()
    assert private_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700


@pytest.mark.e2e
def test_the_demo_folder_and_its_settings_file_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    options = DemoOptions(data_dir=data_dir, port=0, sandbox_port=0, size=100, wait=False)
    with DemoStack(options):
        settings = data_dir / "central365.toml"
        assert 'client_secret = "' in settings.read_text(encoding="utf-8")
        assert mode(settings) == 0o600
        assert mode(data_dir) == 0o700
        assert mode(data_dir / "central365.db") == 0o600
