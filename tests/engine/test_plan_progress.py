"""A plan being made tells how far it has got: records read, contacts read, records decided."""

from __future__ import annotations

from central365.core.model import CentralContact
from central365.core.plan import DECIDED_STEP, build_plan
from central365.engine.plan_memo import PlanMemo
from central365.engine.progress import PROGRESS_STEP, PlanProgress, PlanStage
from central365.engine.service import SyncService
from central365.mailstore.store import SandboxStore, seed_folder
from central365.memory import InMemoryMailbox, InMemorySource

MAILBOX = "ann@contoso.test"
FOLDER = "Central Contacts"


def people(count: int) -> list[CentralContact]:
    return [
        CentralContact(
            str(n), "active" if n % 4 else "inactive", "", f"Ann{n}", "Lee", f"a{n}@x.org"
        )
        for n in range(count)
    ]


def test_a_plan_counts_what_it_read_and_decided_as_it_goes() -> None:
    store = SandboxStore(default_mailbox=MAILBOX)
    seed_folder(store, MAILBOX, FOLDER, [{"givenName": f"P{n}", "surname": "Q"} for n in range(30)])
    count = PROGRESS_STEP + 7
    progress = PlanProgress()
    assert progress.stage is PlanStage.READING
    service = SyncService(InMemorySource(people(count)), InMemoryMailbox(store, MAILBOX), FOLDER)
    report = service.plan(progress=progress)
    active = len(report.plan.items)
    assert active == count - len(range(0, count, 4))
    assert progress == PlanProgress(PlanStage.DONE, count, 30, active, active)


def test_a_plan_handed_back_by_the_memo_is_all_decided() -> None:
    store = SandboxStore(default_mailbox=MAILBOX)
    memo = PlanMemo()
    mailbox = InMemoryMailbox(store, MAILBOX)
    SyncService(InMemorySource(people(8)), mailbox, FOLDER, memo=memo).plan()
    progress = PlanProgress()
    SyncService(InMemorySource(people(8)), mailbox, FOLDER, memo=memo).plan(progress=progress)
    assert memo.hits == 1
    assert (progress.stage, progress.planned, progress.records) == (PlanStage.DONE, 6, 6)


def test_the_planner_tells_its_progress_every_step_and_at_the_end() -> None:
    told: list[tuple[int, int]] = []
    records = people(DECIDED_STEP * 2)  # three quarters active
    build_plan(records, [], on_decided=lambda done, total: told.append((done, total)))
    total = DECIDED_STEP * 3 // 2
    assert told == [(0, total), (DECIDED_STEP, total), (total, total)]
