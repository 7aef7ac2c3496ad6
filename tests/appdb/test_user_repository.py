"""UserRepository on SQLite and PostgreSQL: people who signed in and their token caches."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from central365.appdb import Database, SecretBox, User, UserRepository
from central365.appdb.models import TokenCacheRow

CACHE = '{"RefreshToken": {"k": {"secret": "refresh-token-value"}}}'


def test_upsert_creates_then_refreshes(database: Database, box: SecretBox) -> None:
    repo = UserRepository(database, box)
    first = repo.upsert("oid-1", "tenant-1", "Ann Smith", "ann@contoso.test")
    assert first == User(first.id, "oid-1", "tenant-1", "Ann Smith", "ann@contoso.test")
    again = repo.upsert("oid-1", "tenant-1", "Ann Jones", "ann.jones@contoso.test")
    assert again == User(first.id, "oid-1", "tenant-1", "Ann Jones", "ann.jones@contoso.test")
    other = repo.upsert("oid-1", "tenant-2", "Ann", "ann@fabrikam.test")
    assert other.id != first.id
    assert repo.get(first.id) == again
    assert repo.get(first.id + 1000) is None


def test_token_cache_save_load_forget(database: Database, box: SecretBox) -> None:
    repo = UserRepository(database, box)
    user = repo.upsert("oid-1", "tenant-1", "Ann", "ann@contoso.test")
    assert repo.load_token_cache(user.id) is None
    repo.save_token_cache(user.id, CACHE)
    assert repo.load_token_cache(user.id) == CACHE
    repo.save_token_cache(user.id, "{}")
    assert repo.load_token_cache(user.id) == "{}"
    repo.forget_token_cache(user.id)
    assert repo.load_token_cache(user.id) is None
    repo.forget_token_cache(user.id)  # forgetting twice is fine


def test_token_cache_is_sealed_at_rest(database: Database, box: SecretBox) -> None:
    repo = UserRepository(database, box)
    user = repo.upsert("oid-1", "tenant-1", "Ann", "ann@contoso.test")
    repo.save_token_cache(user.id, CACHE)
    with database.session() as s, s.begin():
        sealed = s.scalar(select(TokenCacheRow.sealed))
    assert sealed is not None
    assert "refresh-token-value" not in sealed and "RefreshToken" not in sealed


def test_a_cache_sealed_with_another_key_reads_as_none(database: Database, box: SecretBox) -> None:
    user = UserRepository(database, box).upsert("oid-1", "tenant-1", "Ann", "a@contoso.test")
    UserRepository(database, box).save_token_cache(user.id, CACHE)
    assert (
        UserRepository(database, SecretBox(Fernet.generate_key())).load_token_cache(user.id) is None
    )


def test_a_cache_needs_a_user(database: Database, box: SecretBox) -> None:
    with pytest.raises(LookupError):
        UserRepository(database, box).save_token_cache(4242, CACHE)
