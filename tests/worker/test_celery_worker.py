"""`central365 worker` processes on the machine's Redis: a target's mailboxes as jobs, the
folder lease across two workers, and a worker killed with SIGKILL mid-mailbox whose job is
run again by another worker without writing a duplicate."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from typing import Any

import pytest

from central365.appdb import (
    JournalRepository,
    RunRepository,
    RunStatus,
    TargetRunStatus,
)

from .conftest import ANN, BOB, BROKER, CY, FOLDER, RABBITMQ, Fleet, rabbitmq_is_up

pytestmark = pytest.mark.e2e


def emails(contacts: list[dict[str, Any]]) -> Counter[str]:
    return Counter(c["emailAddresses"][0]["address"] for c in contacts)


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_worker_runs_each_mailbox_of_a_target_and_records_it(
    make_fleet: Any, broker: str
) -> None:
    if broker == "rabbitmq" and not rabbitmq_is_up():
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672 (Redis is the broker CI starts)")
    fleet: Fleet = make_fleet(records=12, broker=RABBITMQ if broker == "rabbitmq" else BROKER)
    fleet.start_worker()
    run = fleet.wait_run(fleet.schedules.run_now("trio", "Ann Admin"))

    assert run.status is TargetRunStatus.FINISHED, fleet.log_text()
    assert [(m.mailbox, m.created, m.error) for m in run.mailboxes] == [
        (ANN, 12, None),
        (BOB, 12, None),
        (CY, 12, None),
    ]
    for mailbox in (ANN, BOB, CY):
        assert emails(fleet.contacts(mailbox)) == Counter(
            {f"person{n}@example.com": 1 for n in range(12)}
        )
    history = RunRepository(fleet.database)
    records = [history.get(m.run_id or -1) for m in run.mailboxes]
    assert [r.status if r else None for r in records] == [RunStatus.FINISHED] * 3, run


def test_two_workers_never_write_one_folder_at_once(make_fleet: Any) -> None:
    fleet: Fleet = make_fleet(records=60, op_ms=20)
    fleet.start_worker(concurrency=2)
    fleet.start_worker(concurrency=2)
    # two targets naming Ann's folder, started together: the lease lets one write at a time
    first = fleet.schedules.run_now("trio", "Ann Admin")
    second = fleet.schedules.run_now("ann", "Bob Admin")
    runs = [fleet.wait_run(first, 240), fleet.wait_run(second, 240)]

    assert all(r.status is TargetRunStatus.FINISHED for r in runs), fleet.log_text()
    assert emails(fleet.contacts(ANN)) == Counter({f"person{n}@example.com": 1 for n in range(60)})
    history = RunRepository(fleet.database)
    into_ann = sorted(
        (r for r in history.recent(100, mailboxes=[ANN]) if r.finished_at is not None),
        key=lambda r: r.started_at,
    )
    assert len(into_ann) >= 2
    for earlier, later in itertools.pairwise(into_ann):
        assert earlier.finished_at is not None and earlier.finished_at <= later.started_at
    assert sum(m.created for r in runs for m in r.mailboxes if m.mailbox == ANN) == 60


def test_a_worker_killed_mid_mailbox_is_replaced_and_writes_no_duplicate(
    make_fleet: Any,
) -> None:
    fleet: Fleet = make_fleet(records=300, op_ms=40, CENTRAL365_JOB_VISIBILITY_TIMEOUT="6")
    doomed = fleet.start_worker(concurrency=2)
    target_run_id = fleet.schedules.run_now("ann", "Ann Admin")
    fleet.wait(lambda: 20 <= len(fleet.contacts(ANN)) < 300, timeout=60)
    fleet.kill(doomed)
    time.sleep(1.5)  # a $batch the sandbox had begun still finishes there
    written_before = len(fleet.contacts(ANN))
    assert written_before < 300

    restarted = time.monotonic()
    fleet.start_worker(concurrency=2)
    run = fleet.wait_run(target_run_id, 240)
    print(f"the job ran again and ended {time.monotonic() - restarted:.1f} s after the restart")

    assert run.status is TargetRunStatus.FINISHED, fleet.log_text()
    assert emails(fleet.contacts(ANN)) == Counter({f"person{n}@example.com": 1 for n in range(300)})
    (ann,) = run.mailboxes
    assert ann.attempts == 2
    history = RunRepository(fleet.database)
    runs = sorted(history.recent(10, mailboxes=[ANN]), key=lambda r: r.id)
    assert [r.status for r in runs] == [RunStatus.INTERRUPTED, RunStatus.FINISHED]
    # the journal knows every record once, each with a contact of its own
    journal = JournalRepository(fleet.database).contacts(ANN, FOLDER)
    assert set(journal) == {str(n) for n in range(300)}
    assert len({j.office365_id for j in journal.values()}) == 300
    # the retry created only what the killed try had not: the rest it found and adopted
    assert runs[1].created == 300 - written_before
