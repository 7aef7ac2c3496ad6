"""Benchmark: push N new contacts to the sandbox with added latency, batched vs one per contact.

    .venv/bin/python bench/push_new_contacts.py [--count 2000] [--latency-ms 50]

Three runs against one sandbox (Outlook's throttling model on: 4 concurrent requests per
mailbox, batch members counted), each into its own fresh folder:

1. central365's GraphFolder.write: JSON $batch of 20, up to 4 sequential batches in flight;
2. the obvious loop: one POST per contact, one after the other;
3. the same loop on 4 threads (as many as Outlook allows at once).

Prints HTTP requests (counted by the sandbox), wall time and contacts/s, and checks that every
folder ends with exactly N contacts (nothing lost, nothing duplicated).
"""

from __future__ import annotations

import argparse
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from central365.core.mapping import create_body, desired_contact
from central365.core.model import CentralContact, ContactWrite, Outcome, WriteKind
from central365.demo.data import build_demo_data
from central365.graph import StaticTokenAuth, connect
from central365.sandbox.faults import FaultConfig
from central365.sandbox.server import SandboxServer

MAILBOX = "bench@contoso.test"
TOKEN = "bench-token"


def bodies(count: int) -> list[dict[str, Any]]:
    rows = build_demo_data(size=count).rows[:count]
    records = [
        CentralContact.from_row(r | {"email": f"bench.{n}@example.com"}) for n, r in enumerate(rows)
    ]
    return [create_body(desired_contact(r)) for r in records]


def stats(admin: httpx.Client) -> dict[str, Any]:
    data: dict[str, Any] = admin.get("/stats").json()
    return data


def measure(admin: httpx.Client, run: Callable[[], None]) -> tuple[float, dict[str, Any]]:
    admin.post("/stats/reset")
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    return elapsed, stats(admin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--skip-sequential", action="store_true", help="skip the slowest run")
    args = parser.parse_args()
    payloads = bodies(args.count)
    faults = FaultConfig(latency_ms=args.latency_ms)

    with SandboxServer(faults=faults, mailboxes=(MAILBOX,)) as sandbox:
        admin = httpx.Client(base_url=sandbox.admin_url, timeout=30)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        rows: list[tuple[str, float, dict[str, Any], int]] = []

        with connect(sandbox.url, MAILBOX, StaticTokenAuth(TOKEN), timeout=60) as mailbox:
            info = mailbox.create_folder("batched")
            folder = mailbox.folder(info)
            writes = [
                ContactWrite(str(n), WriteKind.CREATE, body, body["emailAddresses"][0]["address"])
                for n, body in enumerate(payloads)
            ]
            results: list[Any] = []
            elapsed, counted = measure(admin, lambda: results.extend(folder.write(writes)))
            assert all(r.outcome is Outcome.CREATED for r in results), "some creates failed"
            rows.append(
                (
                    "central365 ($batch 20, 4 in flight)",
                    elapsed,
                    counted,
                    len(list(folder.contacts())),
                )
            )

        base = f"{sandbox.url}/users/{MAILBOX}"
        nodelay = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        with httpx.Client(headers=headers, timeout=60, transport=nodelay) as http:

            def one_by_one(folder_id: str, threads: int) -> Callable[[], None]:
                def post(body: dict[str, Any]) -> None:
                    while True:  # the naive loop still has to survive throttling
                        reply = http.post(f"{base}/contactFolders/{folder_id}/contacts", json=body)
                        if reply.status_code != 429:
                            reply.raise_for_status()
                            return
                        time.sleep(float(reply.headers.get("Retry-After", "1")))

                def run() -> None:
                    if threads == 1:
                        for body in payloads:
                            post(body)
                    else:
                        with ThreadPoolExecutor(threads) as pool:
                            list(pool.map(post, payloads))

                return run

            def count(folder_id: str) -> int:
                total, url = 0, f"{base}/contactFolders/{folder_id}/contacts?$select=id&$top=1000"
                while url:
                    page = http.get(url).json()
                    total += len(page["value"])
                    url = page.get("@odata.nextLink", "")
                return total

            for label, threads in (
                ("one POST per contact, 4 threads", 4),
                ("one POST per contact, sequential", 1),
            ):
                if threads == 1 and args.skip_sequential:
                    continue
                folder_id = http.post(f"{base}/contactFolders", json={"displayName": label}).json()[
                    "id"
                ]
                elapsed, counted = measure(admin, one_by_one(folder_id, threads))
                rows.append((label, elapsed, counted, count(folder_id)))
        admin.close()

    print(f"Push {args.count} new contacts, sandbox latency {args.latency_ms} ms per HTTP request")
    print(
        f"{'method':<40} {'HTTP requests':>13} {'throttled':>9} {'wall s':>8} {'contacts/s':>10} {'in folder':>9}"
    )
    for label, elapsed, counted, in_folder in rows:
        print(
            f"{label:<40} {counted['requests']:>13} {counted['throttled']:>9} "
            f"{elapsed:>8.2f} {args.count / elapsed:>10.1f} {in_folder:>9}"
        )


if __name__ == "__main__":
    main()
