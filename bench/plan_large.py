"""Benchmark: plan 100,000 Central records against a folder of 50,000 contacts.

    .venv/bin/python bench/plan_large.py [--records 100000] [--folder 50000]

Measures, in one process:
1. the pure planner alone (`build_plan` on records and folder contacts already in memory):
   wall time, then peak Python memory of the plan in a second, traced run (tracemalloc);
2. the whole `SyncService.plan()` as the CLI runs it: Central read from a SQLite table, the
   folder read over HTTP from the sandbox (pages of 1,000 with $select): wall time, HTTP requests
   and the process's peak resident memory.

Half of the folder matches Central exactly, a quarter with differences, a quarter is
Outlook-only; Central also holds inactive and invalid records.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

from central365.config import Settings
from central365.core.mapping import create_body, desired_contact, folder_contact_from_graph
from central365.core.model import CentralContact, State
from central365.core.plan import build_plan
from central365.core.validate import clear_email_cache
from central365.demo.data import write_sqlite
from central365.mailstore.store import seed_folder
from central365.sandbox.faults import FaultConfig
from central365.sandbox.server import SandboxServer
from central365.wiring.connection import SignInMode
from central365.wiring.open import open_service
from central365.wiring.settings import connection_from_settings
from central365.wiring.sign_in import sign_in_auth

MAILBOX = "bench@contoso.test"


def central_rows(count: int) -> list[dict[str, str]]:
    rows = []
    for n in range(count):
        rows.append(
            {
                "id": str(n),
                "status": "inactive" if n % 50 == 0 else "active",
                "first_name": f"First{n}",
                "last_name": "Deceased" if n % 997 == 0 else f"Last{n}",
                "email": f"person{n}@example.com" if n % 331 else "broken@",
                "mobile": f"07700 {n:06d}",
                "telephone": f"0113 {n:06d}" if n % 2 else "",
                "home_address_line1": f"{n} Long Street",
                "home_town": "Leeds",
                "home_postcode": "LS1 1AA",
            }
        )
    return rows


def folder_bodies(rows: list[dict[str, str]], size: int) -> list[dict[str, Any]]:
    bodies = []
    for n in range(size):
        if n < size // 2:
            body = create_body(desired_contact(CentralContact.from_row(rows[n])))
        elif n < size * 3 // 4:
            body = create_body(desired_contact(CentralContact.from_row(rows[n])))
            body["mobilePhone"] = "07000 000000"
            body["homeAddress"] = {"street": "Old Road", "city": "York"}
        else:
            body = {
                "givenName": "Outlook",
                "surname": f"Only{n}",
                "emailAddresses": [{"address": f"outlook{n}@example.org", "name": "x"}],
            }
        bodies.append(body)
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--folder", type=int, default=50_000)
    parser.add_argument("--latency-ms", type=int, default=0, help="sandbox latency per request")
    args = parser.parse_args()

    rows = central_rows(args.records)
    bodies = folder_bodies(rows, args.folder)
    records = [CentralContact.from_row(r) for r in rows]
    contacts = [folder_contact_from_graph({"id": f"c{n}", **b}) for n, b in enumerate(bodies)]

    started = time.perf_counter()
    plan = build_plan(records, contacts)
    pure_s = time.perf_counter() - started
    counts = {s.value: n for s, n in plan.counts().items()}
    del plan
    clear_email_cache()  # the traced run below must do the same work
    tracemalloc.start()  # a second run, traced: tracing slows Python down several times
    build_plan(records, contacts)
    _, pure_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "central.db"
        write_sqlite(db, rows)
        faults = FaultConfig(latency_ms=args.latency_ms)
        with SandboxServer(faults=faults, mailboxes=(MAILBOX,)) as sandbox:
            seed_folder(sandbox.store, MAILBOX, "Central", bodies)
            settings = Settings(
                central=f"sqlite:///{db}",
                graph_url=sandbox.url,
                mailbox=MAILBOX,
                folder="Central",
                auth=SignInMode.SANDBOX,
            )
            with httpx.Client(base_url=sandbox.admin_url) as admin:
                admin.post("/stats/reset")
                before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                started = time.perf_counter()
                connection = connection_from_settings(settings)
                auth = sign_in_auth(connection.sign_in, print)
                with open_service(connection, auth) as service:
                    report = service.plan()
                full_s = time.perf_counter() - started
                requests = admin.get("/stats").json()["requests"]
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert report.plan.count(State.UNCHANGED) == counts["unchanged"]

    print(
        f"Plan {args.records:,} Central records against a folder of {args.folder:,} contacts "
        f"(sandbox latency {args.latency_ms} ms per request)"
    )
    print(f"  counts: {counts}, excluded {report.plan.excluded:,}")
    print(
        f"  pure planner (build_plan):       {pure_s:6.2f} s, peak Python memory {pure_peak / 2**20:7.1f} MiB"
    )
    print(
        f"  service.plan() (SQLite + HTTP):  {full_s:6.2f} s, {requests} HTTP requests, "
        f"process peak RSS {peak_rss_mb:7.1f} MiB (before: {before_rss / 1024:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
