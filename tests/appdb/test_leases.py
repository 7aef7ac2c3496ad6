"""Folder leases on SQLite and PostgreSQL: one holder, named refusals, takeover after expiry."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from central365.appdb import Database, RunInProgress, run_lock_key
from central365.appdb.leases import LEASE_TTL, KeptLease, LeaseRepository, folder_lease

from .conftest import FakeClock

KEY = run_lock_key("ops@contoso.test", "Central Contacts")


def test_a_second_holder_is_refused_with_who_and_since(
    database: Database, clock: FakeClock
) -> None:
    leases = LeaseRepository(database, clock)
    leases.acquire(KEY, "Ann, from the homepage", folder_name="Central Contacts")
    clock.advance(timedelta(seconds=5))

    with pytest.raises(RunInProgress) as refused:
        leases.acquire(KEY, "central365 sync by bob", folder_name="Central Contacts")

    assert refused.value.holder == "Ann, from the homepage"
    assert "Ann, from the homepage since 01 Mar 2025, 09:30:00 UTC" in refused.value.message
    assert "folder Central Contacts" in refused.value.message


def test_another_folder_or_mailbox_is_free(database: Database, clock: FakeClock) -> None:
    leases = LeaseRepository(database, clock)
    leases.acquire(KEY, "Ann")
    leases.acquire(run_lock_key("ops@contoso.test", "Other"), "Bob")
    leases.acquire(run_lock_key("ann@contoso.test", "Central Contacts"), "Cy")


def test_the_key_ignores_case_and_spaces(database: Database, clock: FakeClock) -> None:
    leases = LeaseRepository(database, clock)
    leases.acquire(KEY, "Ann")
    with pytest.raises(RunInProgress):
        leases.acquire(run_lock_key(" OPS@contoso.test", "central contacts "), "Bob")


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_touch_it(
    database: Database, clock: FakeClock
) -> None:
    leases = LeaseRepository(database, clock)
    dead = leases.acquire(KEY, "killed run")
    clock.advance(LEASE_TTL + timedelta(seconds=1))

    alive = leases.acquire(KEY, "next run")

    assert leases.renew(dead) is None  # the frozen holder learns it lost the folder
    leases.release(dead)  # and its release leaves the successor's lease alone
    holder = leases.holder(KEY)
    assert holder is not None and holder[0] == "next run"
    assert leases.renew(alive) is not None


def test_renewing_keeps_a_live_holder(database: Database, clock: FakeClock) -> None:
    leases = LeaseRepository(database, clock)
    lease = leases.acquire(KEY, "long run")
    for _ in range(5):
        clock.advance(LEASE_TTL / 2)
        renewed = leases.renew(lease)
        assert renewed is not None
        lease = renewed
    with pytest.raises(RunInProgress):
        leases.acquire(KEY, "second run")


def test_release_frees_the_folder(database: Database, clock: FakeClock) -> None:
    leases = LeaseRepository(database, clock)
    lease = leases.acquire(KEY, "Ann")
    leases.attach_run(lease, 42)
    holder = leases.holder(KEY)
    assert holder is not None and holder[2] == 42
    leases.release(lease)
    assert leases.holder(KEY) is None
    leases.acquire(KEY, "Bob")


def test_racing_takeovers_of_an_expired_lease_have_one_winner(database: Database) -> None:
    leases = LeaseRepository(database)
    leases.acquire(KEY, "killed run", ttl=timedelta(milliseconds=1))
    time.sleep(0.01)
    won: list[str] = []
    refused: list[str] = []
    barrier = threading.Barrier(6)

    def take(name: str) -> None:
        barrier.wait()
        try:
            leases.acquire(KEY, name)
        except RunInProgress:
            refused.append(name)
        else:
            won.append(name)

    threads = [threading.Thread(target=take, args=(f"run {n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1 and len(refused) == 5


def test_a_kept_lease_outlives_its_ttl_and_is_released_at_the_end(database: Database) -> None:
    leases = LeaseRepository(database)
    ttl = timedelta(milliseconds=300)
    with folder_lease(leases, KEY, "kept run", ttl=ttl) as kept:
        time.sleep(1.0)  # three lifetimes: only the heartbeat keeps it
        with pytest.raises(RunInProgress):
            leases.acquire(KEY, "second run", ttl=ttl)
        assert not kept.lost.is_set()
    leases.acquire(KEY, "after it", ttl=ttl)


def test_a_kept_lease_that_was_taken_over_reports_it_lost(
    database: Database, clock: FakeClock
) -> None:
    ttl = timedelta(milliseconds=150)
    # The frozen run's own clock stands still, so its renewals never reach the present.
    frozen = LeaseRepository(database, FakeClock())
    kept = KeptLease(frozen, frozen.acquire(KEY, "frozen run", ttl=ttl), ttl)
    leases = LeaseRepository(database, clock)
    clock.advance(timedelta(seconds=1))  # it froze past its expiry…
    leases.acquire(KEY, "next run")  # …and the folder was taken
    assert kept.lost.wait(2.0)
    kept.stop()
    holder = leases.holder(KEY)
    assert holder is not None and holder[0] == "next run"
