"""The folder cache in the application database (SQLite; PostgreSQL under the `db` marker)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from central365.appdb import Database, FolderCacheRepository, folder_cache
from central365.appdb.models import FolderCacheContactRow, FolderCacheRow
from central365.core.ports import FolderSnapshot
from tests.appdb.conftest import FakeClock


def contact(i: int, **extra: object) -> dict[str, object]:
    return {
        "id": f"c{i}",
        "givenName": f"Zoë {i}",
        "emailAddresses": [{"address": f"p{i}@x.io"}],
    } | extra


def test_a_folder_never_kept_loads_as_none(database: Database) -> None:
    assert FolderCacheRepository(database).for_mailbox("a@x.io").load("f1") is None


def test_replace_then_load_gives_the_snapshot_back(database: Database) -> None:
    cache = FolderCacheRepository(database).for_mailbox("a@x.io")
    contacts = {f"c{i}": contact(i) for i in range(1200)}
    cache.replace("f1", FolderSnapshot("https://g/delta?$deltatoken=1", contacts))
    loaded = cache.load("f1")
    assert loaded == FolderSnapshot("https://g/delta?$deltatoken=1", contacts)


def test_replace_forgets_what_was_kept_before(database: Database) -> None:
    cache = FolderCacheRepository(database).for_mailbox("a@x.io")
    cache.replace("f1", FolderSnapshot("l1", {"c1": contact(1), "c2": contact(2)}))
    cache.replace("f1", FolderSnapshot("l2", {"c3": contact(3)}))
    assert cache.load("f1") == FolderSnapshot("l2", {"c3": contact(3)})


def test_update_upserts_removes_and_moves_the_link(database: Database, clock: FakeClock) -> None:
    cache = FolderCacheRepository(database, clock).for_mailbox("a@x.io")
    cache.replace("f1", FolderSnapshot("l1", {f"c{i}": contact(i) for i in range(3)}))
    clock.advance(timedelta(minutes=5))
    removed = ["c0", "gone-before"] + [f"x{i}" for i in range(1100)]  # more than one chunk
    cache.update("f1", "l2", {"c1": contact(1, surname="New"), "c9": contact(9)}, removed)
    loaded = cache.load("f1")
    assert loaded is not None and loaded.delta_link == "l2"
    assert loaded.contacts == {"c1": contact(1, surname="New"), "c2": contact(2), "c9": contact(9)}
    with database.session() as s:
        row = s.scalars(select(FolderCacheRow)).one()
        assert row.updated_at == clock.now


def test_update_of_a_folder_never_kept_keeps_it(database: Database) -> None:
    cache = FolderCacheRepository(database).for_mailbox("a@x.io")
    cache.update("f1", "l1", {"c1": contact(1)}, [])
    assert cache.load("f1") == FolderSnapshot("l1", {"c1": contact(1)})


def test_mailboxes_and_folders_are_kept_apart_and_mailbox_case_does_not_matter(
    database: Database,
) -> None:
    repo = FolderCacheRepository(database)
    repo.for_mailbox("Alice@X.io").replace("f1", FolderSnapshot("la", {"c1": contact(1)}))
    repo.for_mailbox("bob@x.io").replace("f1", FolderSnapshot("lb", {"c2": contact(2)}))
    repo.for_mailbox("alice@x.io").replace("f2", FolderSnapshot("lc", {}))
    assert repo.for_mailbox("alice@x.io").load("f1") == FolderSnapshot("la", {"c1": contact(1)})
    assert repo.for_mailbox("bob@x.io").load("f1") == FolderSnapshot("lb", {"c2": contact(2)})
    assert repo.for_mailbox("ALICE@x.io").load("f2") == FolderSnapshot("lc", {})


def test_forget_drops_the_folder_and_its_rows(database: Database) -> None:
    cache = FolderCacheRepository(database).for_mailbox("a@x.io")
    cache.replace("f1", FolderSnapshot("l1", {"c1": contact(1)}))
    cache.forget("f1")
    cache.forget("never-kept")
    assert cache.load("f1") is None
    with database.session() as s:
        assert s.scalars(select(FolderCacheContactRow)).all() == []


def test_a_repository_remembers_its_snapshot_until_another_writer_moves_the_folder(
    database: Database, clock: FakeClock
) -> None:
    homepage = FolderCacheRepository(database, clock).for_mailbox("a@x.io")
    other_process = FolderCacheRepository(database, clock).for_mailbox("a@x.io")
    homepage.replace("f1", FolderSnapshot("l1", {"c1": contact(1)}))
    first = homepage.load("f1")
    assert first is not None and homepage.load("f1") is first  # no rows read again
    clock.advance(timedelta(seconds=1))
    homepage.update("f1", "l2", {"c2": contact(2)}, ["c1"])
    assert homepage.load("f1") == FolderSnapshot("l2", {"c2": contact(2)})
    clock.advance(timedelta(seconds=1))
    other_process.update("f1", "l3", {"c3": contact(3)}, [])
    assert homepage.load("f1") == FolderSnapshot("l3", {"c2": contact(2), "c3": contact(3)})
    other_process.forget("f1")
    assert homepage.load("f1") is None


def test_a_repository_that_does_not_remember_reads_the_rows_at_every_load(
    database: Database,
) -> None:
    command = FolderCacheRepository(database, remember=False).for_mailbox("a@x.io")
    command.replace("f1", FolderSnapshot("l1", {"c1": contact(1)}))
    first = command.load("f1")
    assert first == FolderSnapshot("l1", {"c1": contact(1)})
    again = command.load("f1")
    assert again == first and again is not first  # nothing held between loads
    command.update("f1", "l2", {"c2": contact(2)}, ["c1"])
    assert command.load("f1") == FolderSnapshot("l2", {"c2": contact(2)})


def test_a_large_folder_is_inserted_a_page_at_a_time(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folder_cache, "_INSERT_PAGE", 500)
    cache = FolderCacheRepository(database, remember=False).for_mailbox("a@x.io")
    contacts = {f"c{i}": contact(i) for i in range(1234)}  # two full pages and a part
    cache.replace("f1", FolderSnapshot("l1", contacts))
    assert cache.load("f1") == FolderSnapshot("l1", contacts)
