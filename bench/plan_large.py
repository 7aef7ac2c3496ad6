"""Benchmark: plan 100,000 Central records against a folder of 50,000 contacts.

    .venv/bin/python bench/plan_large.py [--records 100000] [--folder 50000] [--planner-only]

Measures:
1. the pure planner alone (`build_plan` on records and folder contacts already in memory, the
   cycle collector paused as the service pauses it): wall and CPU time; with `--trace-memory`,
   the plan's peak Python memory in a second, traced run (tracemalloc);
2. the whole command as a person runs it, `central365 plan --json > file` in a subprocess:
   Central read from a SQLite table, the folder read over HTTP from the sandbox (pages of 1,000
   with $select): wall and CPU time, HTTP requests and the command's peak resident memory, and
   its counts checked against the pure planner's (skipped with `--planner-only`: at a million
   records the subprocess takes minutes).

Half of the folder matches Central exactly, a quarter with differences, a quarter is
Outlook-only; Central also holds inactive and invalid records.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

from central365.core.mapping import create_body, desired_contact, folder_contact_from_graph
from central365.core.model import CentralContact
from central365.core.plan import build_plan
from central365.core.validate import clear_email_cache
from central365.demo.data import write_sqlite
from central365.engine.collector import cycle_collector_paused
from central365.mailstore.store import seed_folder
from central365.sandbox.faults import FaultConfig
from central365.sandbox.server import SandboxServer

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


def timed(command: list[str], env: dict[str, str], stdout: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of `command`, its output
    to `stdout`.  CPU time is the steadier figure on a machine others are using."""
    with stdout.open("wb") as out:
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%e %U %S %M", *command],
            env=env,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    last = done.stderr.strip().splitlines()[-1]
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command} failed ({done.returncode}): {done.stderr[-2000:]}")
    seconds, user, system, kib = last.split()
    return float(seconds), float(user) + float(system), int(kib) / 1024


def command_env(central: str, graph_url: str, folder: str, data_dir: Path) -> dict[str, str]:
    """The environment a person would set for `central365 plan` (and nothing of ours else).

    `data_dir` holds the run's own application database: a folder cache kept by an earlier run
    (of another sandbox, since gone) would make the plan a delta round against a dead URL.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL365_")}
    env.update(
        CENTRAL365_DATA_DIR=str(data_dir),
        CENTRAL365_CENTRAL=central,
        CENTRAL365_GRAPH_URL=graph_url,
        CENTRAL365_MAILBOX=MAILBOX,
        CENTRAL365_FOLDER=folder,
        CENTRAL365_AUTH="sandbox",
    )
    return env


def json_counts(path: Path) -> dict[str, int]:
    """The `counts` of a `plan --json` file, read from its head (the items stream after it)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith('  "counts": '):
                counts: dict[str, int] = json.loads(line.removeprefix('  "counts": ').rstrip(",\n"))
                return counts
    raise SystemExit(f"no counts in {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--folder", type=int, default=50_000)
    parser.add_argument("--latency-ms", type=int, default=0, help="sandbox latency per request")
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="also plan once under tracemalloc for the plan's peak Python memory (slow)",
    )
    parser.add_argument(
        "--planner-only",
        action="store_true",
        help="measure the pure planner only, not the command in a subprocess",
    )
    args = parser.parse_args()

    rows = central_rows(args.records)
    bodies = folder_bodies(rows, args.folder)
    records = [CentralContact.from_row(r) for r in rows]
    contacts = [folder_contact_from_graph({"id": f"c{n}", **b}) for n, b in enumerate(bodies)]

    with cycle_collector_paused():  # as `SyncService.plan()` builds it
        started, cpu_started = time.perf_counter(), time.process_time()
        plan = build_plan(records, contacts)
        pure_s, pure_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    counts = {s.value: n for s, n in plan.counts().items()}
    del plan
    pure_peak = None
    if args.trace_memory:
        clear_email_cache()  # the traced run must do the same work
        tracemalloc.start()  # a second run, traced: tracing slows Python down several times
        with cycle_collector_paused():
            build_plan(records, contacts)
        _, pure_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    del records, contacts
    traced = "" if pure_peak is None else f", peak Python memory {pure_peak / 2**20:7.1f} MiB"
    print(
        f"Plan {args.records:,} Central records against a folder of {args.folder:,} contacts "
        f"(sandbox latency {args.latency_ms} ms per request)"
    )
    print(f"  counts: {counts}")
    print(f"  pure planner (build_plan):     {pure_s:6.2f} s, CPU {pure_cpu:6.2f} s{traced}")
    if args.planner_only:
        return

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "central.db"
        write_sqlite(db, rows)
        del rows
        faults = FaultConfig(latency_ms=args.latency_ms)
        with SandboxServer(faults=faults, mailboxes=(MAILBOX,)) as sandbox:
            seed_folder(sandbox.store, MAILBOX, "Central", bodies)
            del bodies
            env = command_env(f"sqlite:///{db}", sandbox.url, "Central", tmp / "data")
            command = [sys.executable, "-m", "central365", "plan", "--json"]
            with httpx.Client(base_url=sandbox.admin_url) as admin:
                admin.post("/stats/reset")
                full_s, full_cpu, full_rss = timed(command, env, tmp / "plan.json")
                requests = admin.get("/stats").json()["requests"]
            command_counts = json_counts(tmp / "plan.json")
    assert command_counts == counts, (command_counts, counts)
    print(
        f"  central365 plan --json (SQLite + HTTP, a subprocess): {full_s:6.2f} s, "
        f"CPU {full_cpu:6.2f} s, {requests} HTTP requests, peak RSS {full_rss:7.1f} MiB"
    )


if __name__ == "__main__":
    main()
