"""Benchmark: a target of many mailboxes on Celery workers, against one mailbox alone.

    .venv/bin/python bench/many_mailboxes.py [--mailboxes 200] [--contacts 500]
        [--workers 1 2] [--concurrency 8] [--database-url URL]

A `central365 sandbox` process with `--op-ms 20 --latency-ms 50` (Outlook's 4 slots per
mailbox and its budget on) holds the mailboxes; Redis (127.0.0.1:6379, database 12, a queue
of the run's own) is the broker; `central365 worker` processes (threads, `--concurrency`
each) run the jobs; the application database is a SQLite file (or `--database-url`).  Timed
from Run now to the target run's end, as the homepage would start it:

1. the same N new contacts into 1 mailbox (1 worker): the comparison;
2. N new contacts into each of M mailboxes, with 1 worker, then with 2 workers (a target and a
   folder per scenario, so each starts empty);
3. the nightly re-run of (2)'s last target with nothing changed, twice: the first nightly
   after the full push fills each mailbox's folder cache (a delta round for the link and the
   folder listed once with its anchors: the push wrote the folder, so nothing was cached); every
   later night (the second run, the everyday case) reads only Graph's delta of each folder,
   plans, and writes nothing.

Printed per scenario: wall seconds, the workers' and the sandbox's CPU seconds (from /proc:
they share the machine's cores), the most mailboxes
in flight at once (sampled from the target run's rows), the sandbox's 429 answers and HTTP requests (per mailbox), and whether
every mailbox holds exactly its N contacts, each once (read back over Graph, not timed).
Goals (issue 12): the M-mailbox run ≤ 20x the 1-mailbox run; the nightly run ≤ 10 s with about
2 Graph requests per mailbox.  Run it at normal priority: it measures waiting.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text

from central365.appdb import (
    MailboxJobStatus,
    TargetRunStatus,
    migrate,
    open_database,
)
from central365.config import load_settings
from central365.core.model import CANONICAL_COLUMNS
from central365.sources.csv_source import write_csv
from central365.wiring.jobs import open_schedules
from central365.worker.celery_app import CeleryJobs, make_celery

BROKER = "redis://127.0.0.1:6379/12"
#: The target run's status and its mailboxes in flight, in one statement.
POLL = text(
    "SELECT t.status, (SELECT count(*) FROM target_run_mailboxes m "
    f"WHERE m.target_run_id = t.id AND m.status = '{MailboxJobStatus.RUNNING.value}') "
    "FROM target_runs t WHERE t.id = :id"
)
TOKEN = "bench-token"


@dataclass
class Row:
    scenario: str
    mailboxes: int
    seconds: float
    in_flight: int
    cpu: float
    sandbox_cpu: float
    throttled: int
    requests: int
    exact: bool
    status: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox(mailboxes: list[str], op_ms: int, latency_ms: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    boxes = [arg for box in mailboxes for arg in ("--mailbox", box)]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "central365",
            "sandbox",
            "--port",
            str(port),
            "--op-ms",
            str(op_ms),
            "--latency-ms",
            str(latency_ms),
            *boxes,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_sandbox/health").is_success:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start within 60 s") from None
                time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def worker_cpu(pid: int) -> float:
    """CPU seconds a process (a worker, the sandbox) has used (user + system, Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats(url: str) -> dict[str, int]:
    data = httpx.get(f"{url}/_sandbox/stats").json()
    return {"requests": int(data["requests"]), "throttled": int(data["throttled"])}


def reset_stats(url: str) -> None:
    httpx.post(f"{url}/_sandbox/stats/reset").raise_for_status()


def exact(url: str, mailbox: str, folder: str, contacts: int) -> bool:
    """The mailbox's folder holds each of the N emails exactly once (read over Graph)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=f"{url}/v1.0", headers=headers, timeout=60) as http:
        folders = http.get(
            f"/users/{mailbox}/contactFolders", params={"$filter": f"displayName eq '{folder}'"}
        ).json()["value"]
        if len(folders) != 1:
            return False
        found: Counter[str] = Counter()
        next_url: str | None = (
            f"/users/{mailbox}/contactFolders/{folders[0]['id']}/contacts"
            "?$top=1000&$select=emailAddresses"
        )
        while next_url:
            page = http.get(next_url).json()
            for item in page.get("value", []):
                for address in item.get("emailAddresses", [])[:1]:
                    found[address["address"].lower()] += 1
            next_url = page.get("@odata.nextLink")
    return found == Counter({f"person{n}@example.com": 1 for n in range(contacts)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=200)
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--op-ms", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--check-every", type=int, default=1, help="read back every k-th mailbox")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="central365-bench-"))
    fleet = [f"m{n:04d}@contoso.test" for n in range(args.mailboxes)]
    solo = "solo@contoso.test"
    rows = [
        {
            "id": str(n),
            "status": "active",
            "first_name": f"Person{n}",
            "last_name": "Bench",
            "email": f"person{n}@example.com",
            "company": "Contoso",
            "job_title": "Engineer",
        }
        for n in range(args.contacts)
    ]
    write_csv(work / "central.csv", rows, CANONICAL_COLUMNS)
    listed = ", ".join(f'"{m}"' for m in fleet)
    with sandbox([solo, *fleet], args.op_ms, args.latency_ms) as (url, sandbox_pid):
        config = work / "central365.toml"
        database_url = args.database_url or f"sqlite:///{work / 'app.db'}"
        text = (
            f'central = "csv:{work / "central.csv"}"\n'
            f'database_url = "{database_url}"\n'
            f'graph_url = "{url}/v1.0"\nauth = "sandbox"\nsandbox_token = "{TOKEN}"\n'
            f'[targets.solo]\nmailboxes = ["{solo}"]\nfolder = "Bench solo"\n'
        )
        for n in args.workers:
            text += f'[targets.fleet{n}]\nmailboxes = [{listed}]\nfolder = "Bench {n}w"\n'
        config.write_text(text, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL365_")}
        env |= {
            "CENTRAL365_BROKER_URL": BROKER,
            "CENTRAL365_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
        }
        settings = load_settings(
            {k: v for k, v in env.items() if k.startswith("CENTRAL365_")}, config
        )
        migrate(settings.app_database_url)
        database = open_database(settings.app_database_url)
        schedules = open_schedules(settings, database, CeleryJobs(make_celery(settings)))
        results: list[Row] = []
        workers: list[subprocess.Popen[bytes]] = []

        def start_workers(count: int) -> None:
            while len(workers) < count:
                log = (work / f"worker-{len(workers)}.log").open("wb")
                workers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "central365",
                            "--config",
                            str(config),
                            "worker",
                            "--concurrency",
                            str(args.concurrency),
                            "--loglevel",
                            "WARNING",
                        ],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
                log.close()
            time.sleep(4)  # let them connect: the timing starts at Run now

        def scenario(name: str, target: str, mailboxes: list[str], folder: str) -> None:
            reset_stats(url)
            cpu_before = sum(worker_cpu(p.pid) for p in workers)
            sandbox_before = worker_cpu(sandbox_pid)
            started = time.monotonic()
            run_id = schedules.run_now(target, "bench")
            in_flight = 0
            while True:  # one light query a quarter second: the bench shares the CPU
                with database.connect() as connection:
                    status, running = connection.execute(POLL, {"id": run_id}).one()
                in_flight = max(in_flight, int(running or 0))
                if status != TargetRunStatus.RUNNING.value:
                    break
                time.sleep(0.25)
            seconds = time.monotonic() - started
            cpu = sum(worker_cpu(p.pid) for p in workers) - cpu_before
            sandbox_cpu = worker_cpu(sandbox_pid) - sandbox_before
            run = schedules.target_run(run_id)
            assert run is not None
            counted = stats(url)
            checked = mailboxes[:: max(1, args.check_every)]
            ok = all(exact(url, m, folder, args.contacts) for m in checked)
            results.append(
                Row(
                    name,
                    len(mailboxes),
                    seconds,
                    in_flight,
                    cpu,
                    sandbox_cpu,
                    counted["throttled"],
                    counted["requests"],
                    ok,
                    run.status.value,
                )
            )
            print(f"  {name}: {seconds:.1f} s, {cpu:.1f} s CPU, {run.status.value}", flush=True)

        try:
            for n in args.workers:
                start_workers(n)
                if n == args.workers[0]:
                    scenario(f"{args.contacts} new into 1 mailbox", "solo", [solo], "Bench solo")
                scenario(
                    f"{args.contacts} new into each of {args.mailboxes}, {n} worker(s)",
                    f"fleet{n}",
                    fleet,
                    f"Bench {n}w",
                )
            last = args.workers[-1]
            for night in ("first nightly", "nightly"):
                scenario(
                    f"{night}, nothing changed, {args.mailboxes} mailboxes, {last} worker(s)",
                    f"fleet{last}",
                    fleet,
                    f"Bench {last}w",
                )
        finally:
            for proc in workers:
                proc.terminate()
            for proc in workers:
                proc.wait(timeout=60)
            database.dispose()

    single = results[0].seconds
    print(
        f"\n{args.mailboxes} mailboxes x {args.contacts} contacts, op {args.op_ms} ms, "
        f"latency {args.latency_ms} ms, {args.concurrency} threads per worker"
    )
    print(
        f"{'scenario':58} {'s':>8} {'x1-mbx':>7} {'CPU s':>7} {'sbx CPU':>7} {'flight':>6} {'429':>5} "
        f"{'req/mbx':>8} exact"
    )
    for r in results:
        print(
            f"{r.scenario:58} {r.seconds:8.1f} {r.seconds / single:7.1f} {r.cpu:7.1f} {r.sandbox_cpu:7.1f} "
            f"{r.in_flight:6d} "
            f"{r.throttled:5d} {r.requests / r.mailboxes:8.1f} {'yes' if r.exact else 'NO'}"
            f"{'' if r.status == 'finished' else ' (' + r.status + ')'}"
        )


if __name__ == "__main__":
    main()
