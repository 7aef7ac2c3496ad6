"""Benchmark: "anything changed?" — re-plans against a cached folder (issue 11 §3).

    .venv/bin/python bench/replan.py [--records 100000] [--folder 50000] [--changes 1000]

Central is a SQLite table of `--records` rows, the folder holds `--folder` contacts in the
sandbox (a real HTTP server on loopback), the application database is a SQLite file; plans go
through `wiring.open_service` with the folder cache, as the CLI and the homepage open them.
Printed, each with its time and the Graph requests it took:

1. the first plan: the folder read in full (a delta round from scratch), kept in the cache;
2. a re-plan with nothing changed in Outlook (goal: <= 2 requests);
3. a re-plan after `--changes` contacts were changed in Outlook (goal: about k/1000 + 2);
4. a re-plan after the sandbox expired the delta token (a full read again).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from plan_large import central_rows, folder_bodies

from central365.appdb import FolderCacheRepository, migrate, open_database
from central365.config import Settings
from central365.demo.data import write_sqlite
from central365.engine.service import PlanReport
from central365.mailstore.store import seed_folder
from central365.sandbox.server import SandboxServer
from central365.wiring.connection import SignInMode
from central365.wiring.open import FolderCaches, open_service
from central365.wiring.settings import connection_from_settings
from central365.wiring.sign_in import sign_in_auth

MAILBOX = "bench@contoso.test"


def timed_plan(
    settings: Settings, caches: FolderCaches, admin: httpx.Client
) -> tuple[PlanReport, float, int]:
    admin.post("/stats/reset")
    started = time.perf_counter()
    connection = connection_from_settings(settings)
    auth = sign_in_auth(connection.sign_in, print)
    with open_service(connection, auth, caches=caches) as service:
        report = service.plan()
    return report, time.perf_counter() - started, admin.get("/stats").json()["requests"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--folder", type=int, default=50_000)
    parser.add_argument("--changes", type=int, default=1000)
    args = parser.parse_args()

    rows = central_rows(args.records)
    bodies = folder_bodies(rows, args.folder)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        central = Path(tmp) / "central.db"
        write_sqlite(central, rows)
        app_url = f"sqlite:///{Path(tmp) / 'app.db'}"
        migrate(app_url)
        database = open_database(app_url)
        caches = FolderCacheRepository(database).for_mailbox
        with SandboxServer(mailboxes=(MAILBOX,)) as sandbox:
            folder = seed_folder(sandbox.store, MAILBOX, "Central", bodies)
            settings = Settings(
                central=f"sqlite:///{central}",
                graph_url=sandbox.url,
                mailbox=MAILBOX,
                folder="Central",
                auth=SignInMode.SANDBOX,
            )
            with httpx.Client(base_url=sandbox.admin_url) as admin:
                first, first_s, first_n = timed_plan(settings, caches, admin)
                lines.append(("first plan (full read, cached)", first_s, first_n))
                again, again_s, again_n = timed_plan(settings, caches, admin)
                lines.append(("re-plan, nothing changed", again_s, again_n))
                assert again.plan.counts() == first.plan.counts()
                ids = [c["id"] for c in sandbox.store.list_contacts(MAILBOX, folder["id"])]
                for contact_id in ids[: args.changes]:
                    sandbox.store.update_contact(MAILBOX, contact_id, {"jobTitle": "Changed"})
                _, changed_s, changed_n = timed_plan(settings, caches, admin)
                lines.append((f"re-plan after {args.changes:,} changes", changed_s, changed_n))
                sandbox.store.expire_delta_tokens(MAILBOX)
                _, expired_s, expired_n = timed_plan(settings, caches, admin)
                lines.append(("re-plan after the token expired", expired_s, expired_n))
        database.dispose()

    print(
        f"Re-plan {args.records:,} Central records (SQLite) against a folder of "
        f"{args.folder:,} contacts (sandbox on loopback), folder cache in SQLite"
    )
    for label, seconds, requests in lines:
        print(f"  {label:<34} {seconds:6.2f} s, {requests:3d} Graph requests")


if __name__ == "__main__":
    main()
