"""Benchmark: `central365 plan` as a person runs it, on a large CSV export, end to end.

    .venv/bin/python bench/cli_plan.py [--records 100000] [--runs 1]

Writes a Central CSV of `--records` rows, starts the sandbox with an empty mailbox, and runs the
real command in a subprocess — `central365 plan --json > file` and `central365 plan` (the
table) — measuring wall time and the command's peak resident memory (`/usr/bin/time`).  In the
same run it times the obvious floor, a bare `csv.DictReader` pass over the same file in a fresh
Python, and prints each command's cost as a multiple of it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from central365.core.model import CANONICAL_COLUMNS
from central365.sandbox.server import SandboxServer
from central365.sources.csv_source import write_csv

sys.path.insert(0, str(Path(__file__).parent))
from plan_large import central_rows

MAILBOX = "bench@contoso.test"
BARE_READ = "import csv,sys\nwith open(sys.argv[1], newline='', encoding='utf-8-sig') as f:\n    n = sum(1 for _ in csv.DictReader(f))\nprint(n)"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="repeat each measurement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name, SandboxServer(default_mailbox=MAILBOX) as sb:
        tmp = Path(tmp_name)
        csv_path = tmp / "central.csv"
        write_csv(csv_path, central_rows(args.records), CANONICAL_COLUMNS)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL365_")}
        env.update(
            CENTRAL365_CENTRAL=f"csv:{csv_path}",
            CENTRAL365_GRAPH_URL=sb.url,
            CENTRAL365_MAILBOX=MAILBOX,
            CENTRAL365_FOLDER="Central Contacts",
            CENTRAL365_AUTH="sandbox",
        )
        cli = [sys.executable, "-m", "central365"]
        measured: dict[str, list[tuple[float, float, float]]] = {
            "bare": [],
            "json": [],
            "table": [],
        }
        for _ in range(args.runs):
            bare = [sys.executable, "-c", BARE_READ, str(csv_path)]
            measured["bare"].append(timed(bare, env, tmp / "bare.out"))
            measured["json"].append(timed([*cli, "plan", "--json"], env, tmp / "plan.json"))
            measured["table"].append(timed([*cli, "plan"], env, tmp / "plan.txt"))
        size_mb = csv_path.stat().st_size / 2**20
        json_mb = (tmp / "plan.json").stat().st_size / 2**20

    best = {name: min(runs) for name, runs in measured.items()}
    floor, floor_cpu, _ = best["bare"]
    print(
        f"central365 plan on a CSV of {args.records:,} rows ({size_mb:.0f} MiB), empty folder; "
        f"best of {args.runs}"
    )
    for name, label in (
        ("bare", "bare csv.DictReader pass"),
        ("json", f"central365 plan --json ({json_mb:.0f} MiB out)"),
        ("table", "central365 plan (table)"),
    ):
        seconds, cpu, rss = best[name]
        print(
            f"  {label:42} {seconds:7.2f} s {seconds / floor:6.1f}x   CPU {cpu:7.2f} s "
            f"{cpu / floor_cpu:6.1f}x   peak RSS {rss:7.0f} MiB"
        )


if __name__ == "__main__":
    main()
