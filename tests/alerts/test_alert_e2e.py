"""End to end: a target run on the embedded runner over the sandbox, its end hook wired to
`alert_admins`, and the admins' e-mail arriving at a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from central365.appdb import AlertMailRepository, SecretBox, migrate, open_database
from central365.appdb.database import Database
from central365.config import Settings, load_settings
from central365.core.model import CANONICAL_COLUMNS
from central365.engine.jobs import EmbeddedJobs
from central365.engine.targets import TargetOutcome
from central365.mailstore.store import SandboxStore, seed_folder
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.transport import InProcessTransport
from central365.smtp import AlertMail, SmtpSecurity
from central365.sources.csv_source import write_csv
from central365.wiring.alerting import alert_admins
from central365.wiring.jobs import job_openers, open_schedules
from tests.local_smtp import LocalSmtp

pytestmark = pytest.mark.e2e

ANN, BOB = "ann@contoso.test", "bob@contoso.test"
FOLDER = "Central Contacts"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    rows = [
        {"id": str(n), "status": "active", "first_name": f"P{n}", "last_name": "T",
         "email": f"person{n}@example.com"}
        for n in range(12)
    ]  # fmt: skip
    write_csv(tmp_path / "central.csv", rows, CANONICAL_COLUMNS)
    file = tmp_path / "central365.toml"
    file.write_text(
        f'central = "csv:{tmp_path / "central.csv"}"\n'
        f'database_url = "sqlite:///{tmp_path / "app.db"}"\n'
        'graph_url = "http://sandbox.test/v1.0"\n'
        'auth = "sandbox"\n'
        'public_url = "https://c365.contoso.test"\n'
        f'[targets.pair]\nmailboxes = ["{ANN}", "{BOB}"]\nfolder = "{FOLDER}"\n'
        f'[targets.solo]\nmailboxes = ["{ANN}"]\nfolder = "{FOLDER}"\n',
        encoding="utf-8",
    )
    return load_settings({}, file)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    migrate(settings.app_database_url)
    db = open_database(settings.app_database_url)
    yield db
    db.dispose()


def run_target(
    name: str,
    settings: Settings,
    database: Database,
    transport: InProcessTransport,
    smtp: LocalSmtp,
) -> int:
    """Run target `name` once, alerts wired as `serve` wires them; its target run id."""
    alerts = AlertMailRepository(database, SecretBox.from_secret("k"))
    alerts.save(
        AlertMail(
            "127.0.0.1", smtp.port, SmtpSecurity.NONE, "c365@contoso.test", ("it@contoso.test",)
        ),
        password=None,
        by="test",
    )
    hook = alert_admins(settings, alerts)
    ended = threading.Event()

    def on_finished(target_name: str, outcome: TargetOutcome, target_run_id: int) -> None:
        hook(target_name, outcome, target_run_id)
        ended.set()

    jobs = EmbeddedJobs(
        job_openers(settings, database, transport=transport, on_finished=on_finished), threads=2
    )
    try:
        run_id = open_schedules(settings, database, jobs).run_now(name, "Ann Admin")
        assert ended.wait(60), "the target run did not end in time"
    finally:
        jobs.shutdown()
    return run_id


def test_a_guard_in_one_mailbox_mails_the_admins_once_and_a_good_run_mails_nobody(
    settings: Settings, database: Database
) -> None:
    store = SandboxStore(default_mailbox=ANN, mailboxes=(BOB,))
    old = [
        {"givenName": f"Old{i}", "surname": "N", "emailAddresses": [{"address": f"person{i}@example.com"}]}
        for i in range(12)
    ]  # fmt: skip
    seed_folder(store, BOB, FOLDER, old)  # Central would update all 12: a mass change
    bob_folder = [f for f in store.list_folders(BOB) if f["displayName"] == FOLDER]
    old_contacts = store.list_contacts(BOB, bob_folder[0]["id"])
    transport = InProcessTransport(create_sandbox_app(store))
    smtp = LocalSmtp().start()
    try:
        run_id = run_target("pair", settings, database, transport, smtp)
        [mail] = smtp.received
        assert mail.recipients == ["it@contoso.test"]
        assert (
            mail.message["Subject"] == "central365: target pair needs attention in 1 of 2 mailboxes"
        )
        body = mail.message.get_content()
        assert f"See the run: https://c365.contoso.test/history/targets/{run_id}" in body
        troubled, fine = body.split("Finished well:")
        assert f"- {BOB}" in troubled and "refused by a guard:" in troubled
        assert f"- {ANN}\r\n  created 12, updated 0, failed 0, skipped 0" in fine

        bob_folder = [f for f in store.list_folders(BOB) if f["displayName"] == FOLDER]
        assert store.list_contacts(BOB, bob_folder[0]["id"]) == old_contacts

        run_target("solo", settings, database, transport, smtp)  # Ann is in sync: all well
        assert len(smtp.received) == 1
        run_target("pair", settings, database, transport, smtp)  # Bob is still refused
        assert len(smtp.received) == 2
    finally:
        smtp.stop()
        transport.close()
