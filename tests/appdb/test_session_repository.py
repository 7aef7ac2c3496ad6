"""SessionRepository on SQLite and PostgreSQL: server-side sessions that expire."""

from __future__ import annotations

from datetime import timedelta

from cryptography.fernet import Fernet
from sqlalchemy import select

from central365.appdb import Database, SecretBox, SessionRepository
from central365.appdb.models import WebSessionRow

from .conftest import FakeClock

HOUR = timedelta(hours=1)


def test_create_get_update_delete(database: Database, box: SecretBox, clock: FakeClock) -> None:
    repo = SessionRepository(database, box, clock)
    session_id = repo.create({"user_id": 7, "csrf": "abc"}, HOUR)
    assert len(session_id) >= 43
    assert repo.get(session_id) == {"user_id": 7, "csrf": "abc"}
    repo.update(session_id, {"user_id": 7, "flow": {"state": "xyz"}})
    assert repo.get(session_id) == {"user_id": 7, "flow": {"state": "xyz"}}
    repo.delete(session_id)
    assert repo.get(session_id) is None
    repo.delete(session_id)  # deleting twice is fine
    assert repo.get("no-such-session") is None


def test_sessions_expire(database: Database, box: SecretBox, clock: FakeClock) -> None:
    repo = SessionRepository(database, box, clock)
    session_id = repo.create({"n": 1}, HOUR)
    clock.advance(HOUR - timedelta(seconds=1))
    assert repo.get(session_id) == {"n": 1}
    clock.advance(timedelta(seconds=1))
    assert repo.get(session_id) is None
    repo.update(session_id, {"n": 2}, HOUR)  # an expired session is not revived
    assert repo.get(session_id) is None


def test_update_with_a_lifetime_extends_the_session(
    database: Database, box: SecretBox, clock: FakeClock
) -> None:
    repo = SessionRepository(database, box, clock)
    session_id = repo.create({"n": 1}, HOUR)
    clock.advance(timedelta(minutes=50))
    repo.update(session_id, {"n": 2}, HOUR)
    clock.advance(timedelta(minutes=50))
    assert repo.get(session_id) == {"n": 2}


def test_purge_expired(database: Database, box: SecretBox, clock: FakeClock) -> None:
    repo = SessionRepository(database, box, clock)
    old = repo.create({}, timedelta(minutes=5))
    young = repo.create({}, HOUR)
    clock.advance(timedelta(minutes=10))
    assert repo.purge_expired() == 1
    assert repo.get(old) is None
    assert repo.get(young) == {}


def test_neither_the_id_nor_the_data_is_stored_in_the_clear(
    database: Database, box: SecretBox
) -> None:
    repo = SessionRepository(database, box)
    session_id = repo.create({"flow": "pkce-verifier-value"}, HOUR)
    with database.session() as s, s.begin():
        row = s.execute(select(WebSessionRow)).scalar_one()
        stored_id, sealed = row.id, row.sealed_data
    assert session_id not in stored_id
    assert "pkce-verifier-value" not in sealed


def test_a_session_sealed_with_another_key_reads_as_none(
    database: Database, box: SecretBox
) -> None:
    session_id = SessionRepository(database, box).create({"n": 1}, HOUR)
    assert SessionRepository(database, SecretBox(Fernet.generate_key())).get(session_id) is None
