"""Benchmark: what journalling adds to a sync, Graph excluded.

    .venv/bin/python bench/journal_overhead.py [--records 2000]

Synchronises the same new records twice into the in-memory folder (no HTTP): once without a
journal, once journalled into a fresh SQLite application database (one transaction per write,
as a run does), and prints both times and the cost per write.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from central365.appdb import JournalRepository, RunRepository, migrate, open_database
from central365.core.execute import Selection
from central365.core.model import CentralContact, Outcome
from central365.engine.journaling import JournalRun
from central365.engine.service import SyncService
from central365.mailstore.store import SandboxStore
from central365.memory import InMemoryMailbox, InMemorySource

MAILBOX = "bench@contoso.test"


def sync_seconds(people: list[CentralContact], database_dir: Path | None) -> float:
    store = SandboxStore(default_mailbox=MAILBOX)
    service = SyncService(InMemorySource(people), InMemoryMailbox(store, MAILBOX), "Central")
    journal, database = None, None
    if database_dir is not None:
        url = f"sqlite:///{database_dir / 'app.db'}"
        migrate(url)
        database = open_database(url)
        run = RunRepository(database).start(
            started_by="bench", mailbox=MAILBOX, folder_name="Central", selected=0
        )
        journal = JournalRun(JournalRepository(database), run.id)
    started = time.perf_counter()
    outcome = service.sync(Selection(everything=True), journal=journal)
    took = time.perf_counter() - started
    if database is not None:
        database.dispose()
    assert outcome.report.count(Outcome.CREATED) == len(people)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    people = [
        CentralContact(
            key=str(n),
            status="active",
            first_name=f"First{n}",
            last_name=f"Last{n}",
            email=f"p{n}@example.com",
        )
        for n in range(args.records)
    ]
    plain = sync_seconds(people, None)
    with tempfile.TemporaryDirectory() as tmp:
        journalled = sync_seconds(people, Path(tmp))
    per_write = (journalled - plain) / len(people) * 1000
    print(f"Sync {len(people):,} new records into the in-memory folder")
    print(f"  without a journal:           {plain:.2f} s")
    print(f"  journalled (SQLite):         {journalled:.2f} s  (+{per_write:.2f} ms per write)")


if __name__ == "__main__":
    main()
