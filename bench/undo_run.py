"""Benchmark: undo a large run on the sandbox, through the real Graph adapter and a SQLite journal.

    .venv/bin/python bench/undo_run.py [--count 1000] [--latency-ms 50]

Against one sandbox (Outlook's throttling model on, `latency-ms` per HTTP request):

1. a journalled sync creates `count` contacts (run A);
2. Central changes half of them; a journalled sync updates those (run B);
3. the undo of B is previewed (its plan: the folder read, nothing written), then executed:
   each updated contact gets its before-image back (PATCH in `$batch`es);
4. in another folder, a journalled sync creates `count` contacts and its undo deletes them all
   (DELETE in `$batch`es); for comparison, the obvious loop deletes another folder's `count` contacts one DELETE per
   contact on 4 threads (as many as Outlook allows at once).

The whole benchmark sends about six times `count` requests into one mailbox: past 1,600 or so it
meets Outlook's budget (10,000 requests per 10 minutes) and waits minutes on Retry-After.

Prints HTTP requests (counted by the sandbox), wall time and contacts/s for each step, and checks
each folder ends as it should (restored values; empty).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from central365.appdb import JournalRepository, RunRepository, migrate, open_database
from central365.core.execute import Selection
from central365.core.model import CentralContact, Outcome
from central365.engine.journaling import JournalRun
from central365.engine.service import SyncService
from central365.graph import StaticTokenAuth, connect
from central365.memory import InMemorySource
from central365.sandbox.faults import FaultConfig
from central365.sandbox.server import SandboxServer

MAILBOX = "bench@contoso.test"
FOLDER = "Undo bench"
CREATED_FOLDER = "Undo bench, creates"
TOKEN = "bench-token"


def people(count: int, edited: bool = False) -> list[CentralContact]:
    return [
        CentralContact(
            key=str(n),
            status="Active",
            first_name=f"P{n}",
            last_name="Bench",
            email=f"bench.{n}@example.com",
            mobile="07700 900123" if edited and n % 2 == 0 else "",
        )
        for n in range(count)
    ]


def measure(admin: httpx.Client, run: Callable[[], Any]) -> tuple[float, int, Any]:
    admin.post("/stats/reset")
    started = time.perf_counter()
    value = run()
    elapsed = time.perf_counter() - started
    return elapsed, int(admin.get("/stats").json()["requests"]), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="central365-undo-bench-"))
    url = f"sqlite:///{workdir / 'app.db'}"
    migrate(url)
    database = open_database(url)
    runs, journal = RunRepository(database), JournalRepository(database)
    rows: list[tuple[str, float, int, int]] = []

    def start(undoes: int | None = None, folder: str = FOLDER) -> int:
        return runs.start(
            started_by="bench",
            mailbox=MAILBOX,
            folder_name=folder,
            selected=0,
            hold_lock=False,
            undoes=undoes,
        ).id

    with (
        SandboxServer(
            faults=FaultConfig(latency_ms=args.latency_ms), mailboxes=(MAILBOX,)
        ) as sandbox,
        httpx.Client(base_url=sandbox.admin_url, timeout=30) as admin,
        connect(sandbox.url, MAILBOX, StaticTokenAuth(TOKEN), timeout=60) as mailbox,
    ):

        def service(records: list[CentralContact], folder: str = FOLDER) -> SyncService:
            return SyncService(InMemorySource(records), mailbox, folder)

        def sync(records: list[CentralContact], folder: str = FOLDER) -> int:
            run_id = start(folder=folder)
            done = service(records, folder).sync(
                Selection(everything=True),
                allow_mass_change=True,
                journal=JournalRun(journal, run_id),
            )
            assert done.report.failed == 0
            return run_id

        def undo(run_id: int, folder: str = FOLDER) -> Any:
            undo_run = JournalRun(journal, start(run_id, folder))
            return service([], folder).undo(run_id, journal, journal=undo_run)

        sync(people(args.count))
        second = sync(people(args.count, edited=True))
        updated = args.count - args.count // 2

        elapsed, requests, plan = measure(admin, lambda: service([]).plan_undo(second, journal))
        assert len(plan.acting) == updated
        rows.append((f"preview the undo of {updated:,} updates", elapsed, requests, updated))
        elapsed, requests, outcome = measure(admin, lambda: undo(second))
        assert outcome.report.count(Outcome.UPDATED) == updated
        rows.append((f"undo {updated:,} updates (restore)", elapsed, requests, updated))
        info = mailbox.find_folder(FOLDER)
        assert info is not None
        assert not any(c.mobile_phone for c in mailbox.folder(info).contacts())

        created = sync(people(args.count), CREATED_FOLDER)
        elapsed, requests, outcome = measure(admin, lambda: undo(created, CREATED_FOLDER))
        assert outcome.report.count(Outcome.DELETED) == args.count
        rows.append(
            (f"undo {args.count:,} creates (delete, $batch)", elapsed, requests, args.count)
        )
        emptied = mailbox.find_folder(CREATED_FOLDER)
        assert emptied is not None and list(mailbox.folder(emptied).contacts()) == []

        # The obvious alternative: one DELETE per contact, 4 at a time.
        other = mailbox.create_folder("one by one")
        service_other = SyncService(InMemorySource(people(args.count)), mailbox, "one by one")
        service_other.sync(Selection(everything=True), allow_mass_change=True)
        ids = [c.id for c in mailbox.folder(other).contacts()]
        base = f"{sandbox.url}/users/{MAILBOX}/contactFolders/{other.id}/contacts"
        with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http:

            def remove(contact_id: str) -> None:
                while True:
                    reply = http.delete(f"{base}/{contact_id}")
                    if reply.status_code != 429:
                        reply.raise_for_status()
                        return
                    time.sleep(float(reply.headers.get("Retry-After", "1")))

            def loop() -> None:
                with ThreadPoolExecutor(4) as pool:
                    list(pool.map(remove, ids))

            elapsed, requests, _ = measure(admin, loop)
        rows.append(
            (f"one DELETE per contact, 4 threads ({args.count:,})", elapsed, requests, args.count)
        )
    database.dispose()

    print(f"Undo on the sandbox, latency {args.latency_ms} ms per HTTP request")
    print(f"{'step':<46} {'HTTP requests':>13} {'wall s':>8} {'contacts/s':>10}")
    for label, elapsed, requests, contacts in rows:
        print(f"{label:<46} {requests:>13} {elapsed:>8.2f} {contacts / elapsed:>10.1f}")


if __name__ == "__main__":
    main()
