"""Celery in its real form: `central365 worker` processes started by the test against the
machine's Redis, a sandbox on a real port, and a SQLite application database they share.

Each test has a queue of its own (`CENTRAL365_QUEUE`), so tests and other checkouts sharing
the Redis never take each other's jobs.  The tests skip, saying why, only when Redis is down.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from central365.appdb import Database, TargetRunRecord, TargetRunStatus, migrate, open_database
from central365.config import Settings, load_settings
from central365.core.model import CANONICAL_COLUMNS
from central365.engine.schedules import Schedules
from central365.mailstore.store import SandboxStore
from central365.sandbox.faults import FaultConfig
from central365.sandbox.server import SandboxServer
from central365.sources.csv_source import write_csv
from central365.wiring.jobs import open_schedules
from central365.worker.celery_app import CeleryJobs, make_celery

REDIS = ("127.0.0.1", 6379)
#: A Redis database of its own (the default 0 is left to people); queues keep tests apart.
BROKER = "redis://127.0.0.1:6379/11"
#: RabbitMQ, where the machine runs one (its default account, which takes only local clients).
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
ANN, BOB, CY = "ann@contoso.test", "bob@contoso.test", "cy@contoso.test"
FOLDER = "Central Contacts"


def redis_is_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def rabbitmq_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Fleet:
    """The sandbox, the settings file, the workers started, and a producer to run targets."""

    sandbox: SandboxServer
    config: Path
    env: dict[str, str]
    settings: Settings
    database: Database
    schedules: Schedules
    logs: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self, concurrency: int = 4) -> subprocess.Popen[bytes]:
        n = len(self.workers)
        with (self.logs / f"worker-{n}.log").open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "central365",
                    "--config",
                    str(self.config),
                    "worker",
                    "--concurrency",
                    str(concurrency),
                    "--loglevel",
                    "WARNING",
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)

    def wait_run(self, target_run_id: int, timeout: float = 120) -> TargetRunRecord:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.schedules.target_run(target_run_id)
            if run is not None and run.status is not TargetRunStatus.RUNNING:
                return run
            time.sleep(0.2)
        raise AssertionError(f"target run {target_run_id} did not end; logs: {self.log_text()}")

    def wait(self, what: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if what():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out; logs: {self.log_text()}")

    def contacts(self, mailbox: str) -> list[dict[str, Any]]:
        store = self.sandbox.store
        found = [f for f in store.list_folders(mailbox) if f["displayName"] == FOLDER]
        return store.list_contacts(mailbox, found[0]["id"]) if found else []

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.logs.glob("*.log"))


@pytest.fixture
def make_fleet(tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    if not redis_is_up():
        pytest.skip(
            "Redis is not running on 127.0.0.1:6379 (start it: redis-server --daemonize yes)"
        )
    made: list[Fleet] = []
    servers: list[SandboxServer] = []

    def make(records: int = 12, op_ms: int = 0, broker: str = BROKER, **env: str) -> Fleet:
        store = SandboxStore(default_mailbox=ANN, mailboxes=(BOB, CY))
        server = SandboxServer(store, FaultConfig(op_ms=op_ms)).__enter__()
        servers.append(server)
        rows = [
            {
                "id": str(n),
                "status": "active",
                "first_name": f"Person{n}",
                "last_name": "Test",
                "email": f"person{n}@example.com",
            }
            for n in range(records)
        ]
        write_csv(tmp_path / "central.csv", rows, CANONICAL_COLUMNS)
        config = tmp_path / "central365.toml"
        config.write_text(
            f'central = "csv:{tmp_path / "central.csv"}"\n'
            f'database_url = "sqlite:///{tmp_path / "app.db"}"\n'
            f'graph_url = "{server.url}"\n'
            'auth = "sandbox"\n'
            f'[targets.trio]\nmailboxes = ["{ANN}", "{BOB}", "{CY}"]\nfolder = "{FOLDER}"\n'
            f'[targets.ann]\nmailboxes = ["{ANN}"]\nfolder = "{FOLDER}"\n',
            encoding="utf-8",
        )
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL365_")}
        full_env.update(
            {
                "CENTRAL365_BROKER_URL": broker,
                "CENTRAL365_QUEUE": f"test-{uuid.uuid4().hex[:12]}",
                "CENTRAL365_LEASE_SECONDS": "3",
                **env,
            }
        )
        settings = load_settings(
            {k: v for k, v in full_env.items() if k.startswith("CENTRAL365_")}, config
        )
        migrate(settings.app_database_url)
        database = open_database(settings.app_database_url)
        schedules = open_schedules(settings, database, CeleryJobs(make_celery(settings)))
        logs = tmp_path / "logs"
        logs.mkdir(exist_ok=True)
        fleet = Fleet(server, config, full_env, settings, database, schedules, logs)
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        for process in fleet.workers:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
        fleet.database.dispose()
    for server in servers:
        server.__exit__(None, None, None)
