"""Benchmark: reading Central, the side every plan reads again in full.

    .venv/bin/python bench/central_read.py [--records 100000]

Writes the same `--records` rows as a CSV export and as a SQLite table, then reads each through
its source (`CsvSource`, `SqlSource`: the up-front check, then the stream of records) and prints
CPU and wall time, with the cycle collector paused as `SyncService.plan()` pauses it, beside a
bare `csv.reader` pass over the same file.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from central365.demo.data import write_sqlite
from central365.engine.collector import cycle_collector_paused
from central365.sources import CsvSource, SqlSource, write_csv

sys.path.insert(0, str(Path(__file__).parent))
from plan_large import central_rows


def measured(read: Callable[[], int]) -> tuple[float, float, int]:
    """CPU seconds, wall seconds and the count `read` returns."""
    with cycle_collector_paused():
        wall, cpu = time.perf_counter(), time.process_time()
        count = read()
        return time.process_time() - cpu, time.perf_counter() - wall, count


def bare_pass(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rows = central_rows(args.records)
        write_csv(tmp / "central.csv", rows)
        write_sqlite(tmp / "central.db", rows)
        del rows
        runs = {
            "bare csv.reader pass": lambda: bare_pass(tmp / "central.csv"),
            "CsvSource (check + records)": lambda: sum(
                1 for _ in CsvSource(tmp / "central.csv").read()
            ),
            "SqlSource, SQLite (records)": lambda: sum(
                1 for _ in SqlSource(f"sqlite:///{tmp / 'central.db'}").read()
            ),
        }
        print(f"Read {args.records:,} Central rows")
        for label, read in runs.items():
            cpu, wall, count = measured(read)
            assert count == args.records, (label, count)
            print(f"  {label:30} CPU {cpu:6.2f} s   wall {wall:6.2f} s")


if __name__ == "__main__":
    main()
