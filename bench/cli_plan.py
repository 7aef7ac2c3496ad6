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
import sys
import tempfile
from pathlib import Path

from central365.core.model import CANONICAL_COLUMNS
from central365.sandbox.server import SandboxServer
from central365.sources.csv_source import write_csv

sys.path.insert(0, str(Path(__file__).parent))
from plan_large import central_rows, command_env, timed

MAILBOX = "bench@contoso.test"
BARE_READ = "import csv,sys\nwith open(sys.argv[1], newline='', encoding='utf-8-sig') as f:\n    n = sum(1 for _ in csv.DictReader(f))\nprint(n)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="repeat each measurement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name, SandboxServer(default_mailbox=MAILBOX) as sb:
        tmp = Path(tmp_name)
        csv_path = tmp / "central.csv"
        write_csv(csv_path, central_rows(args.records), CANONICAL_COLUMNS)
        env = command_env(f"csv:{csv_path}", sb.url, "Central Contacts", tmp / "data")
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
