"""SecretBox: sealing, the key's sources, and what a changed key does."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from central365.appdb import AppSettings, Repositories, SecretBox, migrate, open_database
from central365.config import Settings
from central365.core.errors import ConfigError


def test_seal_and_open_round_trip(box: SecretBox) -> None:
    sealed = box.seal("client-secret-ü")
    assert "client-secret" not in sealed
    assert box.seal("client-secret-ü") != sealed  # a fresh IV every time
    assert box.open(sealed) == "client-secret-ü"


def test_another_key_raises_a_config_error_that_says_what_to_do(box: SecretBox) -> None:
    sealed = box.seal("s3cret")
    with pytest.raises(ConfigError, match="secret key has changed") as caught:
        SecretBox(Fernet.generate_key()).open(sealed)
    assert "enter the stored secrets again" in caught.value.message
    assert "s3cret" not in caught.value.full_message()


def test_damaged_data_raises_the_same_config_error(box: SecretBox) -> None:
    with pytest.raises(ConfigError, match="secret key has changed"):
        box.open("not a token")


def test_a_secret_string_derives_a_stable_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("correct horse battery"))
    sealed = SecretBox.from_settings(settings).seal("x")
    assert SecretBox.from_secret("correct horse battery").open(sealed) == "x"
    with pytest.raises(ConfigError):
        SecretBox.from_secret("another phrase").open(sealed)
    assert not (tmp_path / "secret.key").exists()  # no key file when the key is given


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="empty"):
        SecretBox.from_secret("")


def test_the_key_file_is_made_0600_on_first_use_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    sealed = SecretBox.from_settings(settings).seal("x")
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    content = key_file.read_bytes()
    assert SecretBox.from_settings(settings).open(sealed) == "x"
    assert key_file.read_bytes() == content


def test_a_key_file_may_hold_any_string(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text("my own words\n", encoding="utf-8")
    key_file.chmod(0o600)
    sealed = SecretBox.from_key_file(key_file).seal("x")
    assert SecretBox.from_secret("my own words").open(sealed) == "x"


def test_the_box_does_not_show_its_key(box: SecretBox) -> None:
    assert repr(box) == "SecretBox(<key hidden>)"


def test_no_secret_reaches_the_sqlite_files(sqlite_url: str, box: SecretBox) -> None:
    """The database file and its WAL hold no secret, token or session data in the clear."""
    migrate(sqlite_url)
    database = open_database(sqlite_url)
    try:
        repos = Repositories(database, box)
        repos.settings.save(
            AppSettings("Folder", "mysql+pymysql://crm:pw-in-url@db/central"),
            client_secret="client-secret-value",
            client_certificate_pem="private-key-value",
            by="ann",
        )
        user = repos.users.upsert("oid", "tenant", "Ann", "ann@contoso.test")
        repos.users.save_token_cache(user.id, '{"refresh": "refresh-token-value"}')
        session_id = repos.sessions.create({"flow": "code-verifier-value"}, timedelta(hours=1))
        raw = b"".join(
            path.read_bytes()
            for path in Path(sqlite_url.removeprefix("sqlite:///")).parent.iterdir()
        )
    finally:
        database.dispose()
    for plain in (
        "pw-in-url",
        "client-secret-value",
        "private-key-value",
        "refresh-token-value",
        "code-verifier-value",
        session_id,
    ):
        assert plain.encode() not in raw
    assert b"ann@contoso.test" in raw  # the check does see the files' contents
