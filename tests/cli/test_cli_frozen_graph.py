"""A frozen Office 365 never keeps `sync` running: it ends by its deadline, loses nothing.

The sandbox runs as its own process and is stopped with SIGSTOP in the middle of a push (as a
hung server would be); the command must end within its deadline (`CENTRAL365_RUN_DEADLINE`),
account for every record (created, or skipped with the reason), exit 1, and — once Office 365
is back — a second sync must finish the job with no contact twice.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central365.core.model import CANONICAL_COLUMNS
from central365.sources.csv_source import write_csv

pytestmark = pytest.mark.e2e

PEOPLE = 120
DEADLINE_S = 12
FOLDER = "Central Contacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "central365", "sandbox", "--port", str(port), "--latency-ms", "0"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("the sandbox did not start")
        yield proc, port
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait(timeout=30)


def emails(port: int) -> Counter[str]:
    base = f"http://127.0.0.1:{port}/v1.0/me/contactFolders"
    with httpx.Client(headers={"Authorization": "Bearer t"}, timeout=30) as http:
        (folder,) = http.get(base, params={"$filter": f"displayName eq '{FOLDER}'"}).json()["value"]
        found: Counter[str] = Counter()
        url: str | None = f"{base}/{folder['id']}/contacts?$top=1000&$select=emailAddresses"
        while url:
            page = http.get(url).json()
            found.update(c["emailAddresses"][0]["address"].lower() for c in page["value"])
            url = page.get("@odata.nextLink")
    return found


def test_a_frozen_graph_ends_the_run_by_its_deadline_and_a_rerun_finishes(
    sandbox: tuple[subprocess.Popen[bytes], int], tmp_path: Path
) -> None:
    proc, port = sandbox
    rows = [
        {
            "id": str(n),
            "status": "active",
            "first_name": f"F{n}",
            "last_name": "Frozen",
            "email": f"f{n}@example.com",
        }
        for n in range(PEOPLE)
    ]
    write_csv(tmp_path / "central.csv", rows, CANONICAL_COLUMNS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL365_")}
    env.update(
        CENTRAL365_CENTRAL=f"csv:{tmp_path / 'central.csv'}",
        CENTRAL365_GRAPH_URL=f"http://127.0.0.1:{port}/v1.0",
        CENTRAL365_FOLDER=FOLDER,
        CENTRAL365_AUTH="sandbox",
        CENTRAL365_RUN_DEADLINE=str(DEADLINE_S),
        CENTRAL365_DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
    )
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/_sandbox", timeout=10) as admin:
        push_until_frozen_and_rerun(proc, port, admin, env, tmp_path)


def push_until_frozen_and_rerun(
    proc: subprocess.Popen[bytes],
    port: int,
    admin: httpx.Client,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    # Slow enough that the push is still going when the sandbox is frozen.
    assert admin.put("/faults", json={"latency_ms": 300}).status_code == 200
    command = [sys.executable, "-m", "central365", "sync", "--all", "--yes", "--json"]
    started = time.monotonic()
    cli = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    while admin.get("/stats").json().get("batches", 0) < 2:
        assert time.monotonic() - started < 60, "the push never began"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGSTOP)

    out, err = cli.communicate(timeout=DEADLINE_S + 60)
    took = time.monotonic() - started
    os.kill(proc.pid, signal.SIGCONT)

    assert cli.returncode == 1, err.decode()
    assert took < DEADLINE_S + 20, took  # the deadline, plus start-up; never a hang
    result = json.loads(out)
    assert result["created"] + result["skipped"] == PEOPLE  # every record accounted for
    assert result["unwritten"] == result["skipped"] > 0
    assert all(i["error"] for i in result["items"] if i["outcome"] == "skipped")

    assert admin.put("/faults", json={"latency_ms": 0}).status_code == 200
    time.sleep(1)  # the resumed sandbox works off what was queued while it was stopped
    again = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    found = emails(port)
    assert len(found) == PEOPLE and max(found.values()) == 1  # none lost, none twice
