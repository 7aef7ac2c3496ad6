"""Benchmark: how long the sandbox takes to make its writes durable (`--state FILE`).

    .venv/bin/python bench/sandbox_state.py [--contacts 4000]

Measures, in one process, with the SQLite state file in a temporary directory:
1. one save of N contacts created straight in the store (one transaction, fsync'd), as after
   seeding or a burst of writes: the figure issue 8 item 9 asks to be well under a second;
2. N contacts pushed over HTTP in `$batch`es of 20 to a sandbox on a real port, with and without
   the state file: the cost per batch of saving before the answer is sent.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from central365.mailstore.store import SandboxStore
from central365.sandbox.faults import FaultConfig
from central365.sandbox.persist import StateFile, load_state
from central365.sandbox.server import SandboxServer

MAILBOX = "demo@contoso.test"


def body(n: int) -> dict[str, Any]:
    return {
        "givenName": f"First{n}",
        "surname": f"Last{n}",
        "emailAddresses": [{"address": f"person{n}@example.com"}],
        "businessPhones": ["+44 20 7946 0000"],
        "companyName": "Contoso",
        "businessAddress": {"street": f"{n} High St", "city": "London", "postalCode": "N1"},
    }


def one_save(count: int, directory: Path) -> tuple[float, float]:
    store = SandboxStore()
    folder = store.create_folder(MAILBOX, "CRM")["id"]
    path = directory / "direct.db"
    state = StateFile(path)
    state.save_everything(store)
    for n in range(count):
        store.create_contact(MAILBOX, folder, body(n))
    started = time.perf_counter()
    state.save_pending(store)
    saved = time.perf_counter() - started
    state.close()
    started = time.perf_counter()
    again = SandboxStore()
    load_state(again, path)
    loaded = time.perf_counter() - started
    assert len(again.list_contacts(MAILBOX, folder)) == count
    return saved, loaded


def push(count: int, state_path: Path | None) -> float:
    faults = FaultConfig(mailbox_concurrency=None, window_requests=None)
    with (
        SandboxServer(faults=faults, state_path=state_path) as sandbox,
        httpx.Client(base_url=sandbox.url, headers={"Authorization": "Bearer x"}) as client,
    ):
        folder = client.post("/me/contactFolders", json={"displayName": "CRM"}).json()["id"]
        started = time.perf_counter()
        for start in range(0, count, 20):
            members = [
                {
                    "id": str(n),
                    "method": "POST",
                    "url": f"/me/contactFolders/{folder}/contacts",
                    "headers": {"Content-Type": "application/json"},
                    "body": body(n),
                }
                for n in range(start, min(start + 20, count))
            ]
            answers = client.post("/$batch", json={"requests": members}).json()["responses"]
            assert all(a["status"] == 201 for a in answers)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=4000)
    args = parser.parse_args()
    n = args.contacts
    with tempfile.TemporaryDirectory(prefix="c365-state-") as tmp:
        directory = Path(tmp)
        saved, loaded = one_save(n, directory)
        print(f"one save of {n} contacts: {saved * 1000:.0f} ms (load: {loaded * 1000:.0f} ms)")
        batches = -(-n // 20)
        memory = push(n, None)
        durable = push(n, directory / "http.db")
        print(
            f"{n} contacts in {batches} batches over HTTP: {memory:.2f} s in memory, "
            f"{durable:.2f} s with --state ({(durable - memory) / batches * 1000:.1f} ms "
            "more per batch for the fsync'd save)"
        )


if __name__ == "__main__":
    main()
