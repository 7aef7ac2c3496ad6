"""Fault matrix: `central365 sync --all --yes` against a real sandbox process under faults.

    .venv/bin/python bench/fault_matrix.py [--count 200] [--only NAME ...]

Each scenario starts a fresh `central365 sandbox` process on a free port, sets its faults
through the admin API (`/_sandbox/faults`, `/_sandbox/faults/script`, see docs/sandbox.md),
runs the command line in its own process against it (sandbox sign-in, a Central CSV of
`--count` records), then counts the folder's contacts by email.  Prints one table row per
scenario: contacts expected / found / duplicated, the exit code and outcome counts, seconds.

Scenarios:
- clean: no faults (the baseline);
- folder 503: folder creation answers 503 after creating the folder;
- faults 50%: half of all requests and batch members get a random 429/503/504;
- dropped answers: three `$batch` answers are lost after Graph applied them;
- slow answer: one `$batch` answer comes after the client's timeout (applied meanwhile);
- Retry-After 100000: every `$batch` is throttled with a day-long Retry-After;
- SIGSTOP: the sandbox process is stopped mid-run (once 6 batches have arrived) and only
  resumed once the command has ended (60 s deadline, 5 s timeouts); then the command runs
  again against the healthy sandbox ("then rerun": nothing lost, nothing twice).

Exit codes of the command line: 0 all written, 1 records failed, 2 an error ended the run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

FOLDER = "Fault matrix"
MAILBOX = "demo@contoso.test"


@dataclass
class Scenario:
    name: str
    faults: dict[str, Any] = field(default_factory=dict)
    script: list[dict[str, Any]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    #: Called with the sandbox process once the command has started (SIGSTOP).
    during: Callable[[subprocess.Popen[bytes], httpx.Client], None] | None = None
    #: Run the command again once the faults are gone (a second table row).
    rerun: bool = False


@dataclass
class Row:
    name: str
    expected: int
    found: int
    duplicated: int
    exit_code: int
    outcome: str
    seconds: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_csv(path: Path, count: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["id", "status", "first_name", "last_name", "email"])
        for n in range(count):
            out.writerow([f"C{n:05d}", "active", f"Person{n}", "Matrix", f"p{n}@example.com"])


def start_sandbox(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "central365", "sandbox", "--port", str(port)],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).is_success:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the sandbox did not start within 60 s")


def count_emails(port: int) -> Counter[str]:
    """The folder's contacts by email, read straight from the sandbox."""
    base = f"http://127.0.0.1:{port}/v1.0/me/contactFolders"
    headers = {"Authorization": "Bearer matrix"}
    with httpx.Client(headers=headers, timeout=30) as http:
        flt = {"$filter": f"displayName eq '{FOLDER}'"}
        folders = http.get(base, params=flt).json().get("value", [])
        found: Counter[str] = Counter()
        for folder in folders:
            url: str | None = f"{base}/{folder['id']}/contacts?$top=1000&$select=emailAddresses"
            while url:
                page = http.get(url).json()
                for item in page.get("value", []):
                    for address in item.get("emailAddresses", [])[:1]:
                        found[address["address"].lower()] += 1
                url = page.get("@odata.nextLink")
        return found


def settle(admin: httpx.Client) -> None:
    """Wait until a resumed sandbox has worked off the requests queued while it was stopped."""
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < 2:
        now = admin.get("/stats", timeout=60).json().get("requests", 0)
        if now != last:
            last, quiet_since = now, time.monotonic()
        time.sleep(0.2)


def stop_mid_run(proc: subprocess.Popen[bytes], admin: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if admin.get("/stats").json().get("batches", 0) >= 6:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGSTOP)


def sync_row(
    name: str,
    count: int,
    env: dict[str, str],
    workdir: Path,
    port: int,
    proc: subprocess.Popen[bytes] | None = None,
    admin: httpx.Client | None = None,
    during: Callable[[subprocess.Popen[bytes], httpx.Client], None] | None = None,
) -> Row:
    """One `sync --all --yes --json` run, then the folder counted (faults cleared first)."""
    started = time.perf_counter()
    cli = subprocess.Popen(
        [sys.executable, "-m", "central365", "sync", "--all", "--yes", "--json"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if during is not None and proc is not None and admin is not None:
        threading.Thread(target=during, args=(proc, admin), daemon=True).start()
    out, err = cli.communicate(timeout=3600)
    seconds = time.perf_counter() - started
    if proc is not None and admin is not None:
        os.kill(proc.pid, signal.SIGCONT)
        admin.delete("/faults/script")
        admin.put("/faults", json={"fault_rate": 0.0, "latency_ms": 0})
        settle(admin)
    found = count_emails(port)
    duplicated = sum(n - 1 for n in found.values() if n > 1)
    return Row(name, count, len(found), duplicated, cli.returncode, outcome_of(out, err), seconds)


def run_scenario(scenario: Scenario, count: int, workdir: Path) -> list[Row]:
    port = free_port()
    proc = start_sandbox(port, workdir)
    admin = httpx.Client(base_url=f"http://127.0.0.1:{port}/_sandbox", timeout=10)
    try:
        if scenario.faults:
            admin.put("/faults", json=scenario.faults).raise_for_status()
        if scenario.script:
            admin.post("/faults/script", json=scenario.script).raise_for_status()
        env = {
            **os.environ,
            "CENTRAL365_AUTH": "sandbox",
            "CENTRAL365_SANDBOX_TOKEN": "matrix",
            "CENTRAL365_GRAPH_URL": f"http://127.0.0.1:{port}/v1.0",
            "CENTRAL365_CENTRAL": f"csv:{workdir / 'central.csv'}",
            "CENTRAL365_FOLDER": FOLDER,
            "CENTRAL365_MAILBOX": "me",
            **scenario.env,
        }
        rows = [sync_row(scenario.name, count, env, workdir, port, proc, admin, scenario.during)]
        if scenario.rerun:
            rows.append(sync_row(f"{scenario.name}, then rerun", count, env, workdir, port))
        return rows
    finally:
        admin.close()
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
        proc.wait(timeout=30)


def outcome_of(out: bytes, err: bytes) -> str:
    try:
        data = json.loads(out)
    except ValueError:
        text = " ".join(err.decode("utf-8", "replace").split())
        print(f"    error: {text[-400:]}", file=sys.stderr)
        return "error (exit 2)"
    results = data.get("results") or data.get("items") or []
    counts = Counter(str(r.get("outcome")) for r in results if isinstance(r, dict))
    reasons = Counter(
        str(r.get("error"))[:90] for r in results if isinstance(r, dict) and r.get("error")
    )
    for reason, n in reasons.most_common(2):
        print(f"    {n} x {reason}", file=sys.stderr)
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no results"


def scenarios() -> list[Scenario]:
    rule_batch = {"path_contains": "$batch", "inner": False}
    return [
        Scenario("clean"),
        Scenario(
            "folder 503",
            script=[
                {
                    "status": 503,
                    "method": "POST",
                    "path_contains": "contactFolders",
                    "after_processing": True,
                    "inner": False,
                }
            ],
        ),
        Scenario("faults 50%", faults={"fault_rate": 0.5, "seed": 1}),
        Scenario("dropped answers", script=[{**rule_batch, "drop": True, "times": 3}]),
        Scenario(
            "slow answer",
            script=[{**rule_batch, "hang_after_processing_s": 8, "times": 1}],
            env={"CENTRAL365_TIMEOUT": "3"},
        ),
        Scenario(
            "Retry-After 100000",
            script=[{**rule_batch, "status": 429, "retry_after": 100000, "times": None}],
        ),
        Scenario(
            "SIGSTOP",
            faults={"latency_ms": 300},
            env={"CENTRAL365_RUN_DEADLINE": "60", "CENTRAL365_TIMEOUT": "5"},
            during=stop_mid_run,
            rerun=True,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--only", nargs="*", help="scenario names to run (default: all)")
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="fault-matrix-") as tmp:
        workdir = Path(tmp)
        write_csv(workdir / "central.csv", args.count)
        for scenario in scenarios():
            if args.only and scenario.name not in args.only:
                continue
            rows.extend(run_scenario(scenario, args.count, workdir))
            print(f"done: {scenario.name}", file=sys.stderr, flush=True)
    print("| scenario | expected | found | duplicated | exit | outcome | seconds |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.name} | {r.expected} | {r.found} | {r.duplicated} | {r.exit_code} | "
            f"{r.outcome} | {r.seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
