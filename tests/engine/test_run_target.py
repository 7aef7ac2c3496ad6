"""`run_target` over the in-memory fake: each mailbox on its own, whatever the others meet."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from central365.core.errors import AuthFailed, Central365Error
from central365.core.model import CentralContact, Outcome, State
from central365.core.targets import SyncTarget
from central365.engine.service import SyncOutcome, SyncService
from central365.engine.targets import MailboxOutcome, TargetOutcome, run_target
from central365.mailstore.store import SandboxStore, seed_folder
from central365.memory import InMemoryMailbox, InMemorySource

FOLDER = "Central"
ANN, BOB, CAT, DAN = "ann@contoso.test", "bob@contoso.test", "cat@contoso.test", "dan@contoso.test"


def records(n: int) -> list[CentralContact]:
    return [
        CentralContact(
            key=str(i),
            status="active",
            first_name=f"Person{i}",
            last_name="Test",
            email=f"person{i}@example.com",
        )
        for i in range(n)
    ]


class Fleet:
    """Mailboxes in one store; `refused` mailboxes fail to open like a 403 from Graph."""

    def __init__(self, refused: frozenset[str] = frozenset()) -> None:
        self.store = SandboxStore(default_mailbox=ANN, mailboxes=(BOB, CAT, DAN))
        self.refused = refused
        self.leased: list[str] = []

    def open(self, mailbox: str) -> AbstractContextManager[SyncService]:
        if mailbox in self.refused:
            raise AuthFailed("Office 365 denied access for the mailbox.", status=403)
        mailbox_port = InMemoryMailbox(self.store, mailbox)
        return nullcontext(SyncService(InMemorySource(records(12)), mailbox_port, FOLDER))

    @contextmanager
    def lease(self, mailbox: str) -> Iterator[None]:
        self.leased.append(mailbox)
        yield

    def contacts(self, mailbox: str) -> list[dict[str, object]]:
        (folder,) = [f for f in self.store.list_folders(mailbox) if f["displayName"] == FOLDER]
        return self.store.list_contacts(mailbox, folder["id"])


def target(*mailboxes: str, states: frozenset[State] | None = None) -> SyncTarget:
    return SyncTarget(
        "staff", FOLDER, mailboxes, states=states or frozenset({State.NEW, State.UPDATE})
    )


def stale_folder(fleet: Fleet, mailbox: str) -> None:
    """Every contact matched but differently named: updating all of them is a mass update."""
    seed_folder(
        fleet.store,
        mailbox,
        FOLDER,
        [
            {
                "givenName": f"Old{i}",
                "surname": "Name",
                "emailAddresses": [{"address": f"person{i}@example.com"}],
            }
            for i in range(12)
        ],
    )


def test_every_mailbox_gets_the_targets_records_under_its_lease() -> None:
    fleet = Fleet()
    told: list[MailboxOutcome] = []
    outcome = run_target(
        target(ANN, BOB), [ANN, BOB], fleet.open, fleet.lease, on_mailbox=told.append
    )
    assert outcome.ok
    assert [m.mailbox for m in outcome.mailboxes] == [ANN, BOB] == [m.mailbox for m in told]
    assert all(m.created == 12 and m.error is None for m in outcome.mailboxes)
    assert fleet.leased == [ANN, BOB]
    assert len(fleet.contacts(ANN)) == len(fleet.contacts(BOB)) == 12


def test_one_mailbox_failing_never_stops_the_others() -> None:
    fleet = Fleet(refused=frozenset({BOB}))
    outcome = run_target(target(ANN, BOB, CAT), [ANN, BOB, CAT], fleet.open, fleet.lease)
    assert not outcome.ok
    ann, bob, cat = outcome.mailboxes
    assert bob.error == "Office 365 denied access for the mailbox." and not bob.refused
    assert (bob.created, bob.updated) == (0, 0)
    assert ann.ok and cat.ok and ann.created == cat.created == 12


def test_a_busy_lease_is_that_mailboxs_error() -> None:
    fleet = Fleet()

    @contextmanager
    def lease(mailbox: str) -> Iterator[None]:
        if mailbox == ANN:
            raise Central365Error("A run into this folder is already going.")
        yield

    outcome = run_target(target(ANN, BOB), [ANN, BOB], fleet.open, lease)
    assert outcome.mailboxes[0].error == "A run into this folder is already going."
    assert outcome.mailboxes[1].ok
    assert fleet.store.list_folders(ANN) == []  # nothing was written without the lease


def test_a_guard_stops_one_mailbox_and_writes_nothing_there() -> None:
    fleet = Fleet()
    stale_folder(fleet, CAT)
    before = fleet.contacts(CAT)
    outcome = run_target(target(ANN, CAT), [ANN, CAT], fleet.open, fleet.lease)
    ann, cat = outcome.mailboxes
    assert ann.ok and ann.created == 12
    assert cat.refused and not cat.ok
    assert cat.error is not None and "update 12 of the folder's 12 contacts" in cat.error
    assert "Nothing was written to this mailbox." in cat.error
    assert fleet.contacts(CAT) == before
    allowed = run_target(target(CAT), [CAT], fleet.open, fleet.lease, allow_mass_change=True)
    assert allowed.ok and allowed.mailboxes[0].updated == 12


def test_only_the_targets_states_are_written() -> None:
    fleet = Fleet()
    stale_folder(fleet, DAN)
    only_new = target(DAN, states=frozenset({State.NEW}))
    outcome = run_target(only_new, [DAN], fleet.open, fleet.lease, allow_mass_change=True)
    (dan,) = outcome.mailboxes
    assert (dan.created, dan.updated) == (0, 0) and dan.ok
    assert {c["givenName"] for c in fleet.contacts(DAN)} == {f"Old{i}" for i in range(12)}


def test_an_unexpected_error_is_named_by_its_type_only() -> None:
    fleet = Fleet()

    def broken(mailbox: str) -> AbstractContextManager[SyncService]:
        raise RuntimeError("secret token abc")

    outcome = run_target(target(ANN), [ANN], broken, fleet.lease)
    assert outcome.mailboxes[0].error == "Unexpected error (RuntimeError)."


def test_the_json_shape() -> None:
    outcome = TargetOutcome(
        "staff", (MailboxOutcome(ANN, created=2, skipped=1), MailboxOutcome(BOB, error="x"))
    )
    assert outcome.to_json() == {
        "target": "staff",
        "mailboxes": [
            {"mailbox": ANN, "created": 2, "updated": 0, "failed": 0, "skipped": 1, "error": None},
            {"mailbox": BOB, "created": 0, "updated": 0, "failed": 0, "skipped": 0, "error": "x"},
        ],
    }


class RecordedRun:
    """A front end's run record: no journal here, but the outcome it is finished with."""

    journal = None

    def __init__(self) -> None:
        self.finished: list[SyncOutcome] = []

    def finish(self, outcome: SyncOutcome) -> None:
        self.finished.append(outcome)


def test_each_mailboxs_run_is_finished_with_its_outcome_unless_refused() -> None:
    fleet = Fleet()
    stale_folder(fleet, CAT)
    runs: dict[str, RecordedRun] = {}

    @contextmanager
    def hold(mailbox: str) -> Iterator[RecordedRun]:
        runs[mailbox] = RecordedRun()
        yield runs[mailbox]

    outcome = run_target(target(ANN, CAT), [ANN, CAT], fleet.open, hold)
    assert [m.ok for m in outcome.mailboxes] == [True, False]
    (done,) = runs[ANN].finished
    assert done.report.count(Outcome.CREATED) == 12
    assert runs[CAT].finished == []  # refused by a guard: the front end ends it as failed
