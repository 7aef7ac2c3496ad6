"""Benchmark: a push against the mailbox's ceiling — what Exchange's limits allow at best.

    .venv/bin/python bench/ceiling.py [--only a b c] [--no-alternatives]

Each scenario runs against a `central365 sandbox` process started with the scenario's limits
(`--op-ms`, `--latency-ms`, `--budget`, `--window`), each push into its own mailbox (the
budget is counted per mailbox) and folder, the folder made through the admin API so that no
budget is spent before the push:

- (a) 2,000 new contacts, `--op-ms 20 --latency-ms 50` (slot-bound);
- (b) 1,500 new contacts, the same plus `--budget 600 --window 30` (budget-bound);
- (c) 2,000 updates of the contacts (a) created, the settings of (a).

For each: central365's `GraphFolder.write` (the client picks its strategy), and, in the same
run, the obvious alternative: one request per contact on 4 threads (as many as the mailbox
allows), honouring Retry-After.  Under (a) also one unordered `$batch` at a time, the other
batch strategy.  Printed per row: seconds, the ceiling, the fraction of the ceiling (ceiling /
measured), failed writes, contacts missing or duplicated in the folder (by email), the 429
answers the sandbox gave (inner ones included) and the HTTP requests it served.

The ceiling (`ceiling_s`), from the sandbox's rules (docs/sandbox.md, "Throttling"), which
follow Outlook's (reference §3.1, §4.1).  N operations (one per contact), op time s, round
trip L, c = 4 slots, at most k = 20 members a batch, budget B operations per window W:

- a slot runs one request at a time and holds it for L + m·s when the request carries m
  operations.  Chained batches of k are the cheapest way through a slot (a plain request costs
  L + s per operation; an unordered batch costs L + ⌈m/4⌉·s but holds all 4 slots, so 4L per
  4k operations where chains pay L per k).  Slots refuse rather than queue, so a request
  cannot be sent to land the instant a slot frees: each slot pays L per request.  Spread
  over the c slots, n = ⌈N / c⌉ operations a slot:

      slot_s(N) = ⌈n / k⌉ · L + n · s

- the budget: operation i (from 0) cannot run before ⌊i / B⌋ · W after the first, so the
  last r = N - q·B operations, q = ⌊(N - 1) / B⌋, start at q·W at the earliest:

      budget_s(N) = q · W + slot_s(r)

- ceiling_s(N) = max(slot_s(N), budget_s(N)).

(a) 11.25 s (25 chains of 20 per slot: 25 · 50 ms + 500 · 20 ms), (b) 61.7 s (two full
windows, then 300 operations), (c) 11.25 s.  The goal is a fraction ≥ 0.90 with nothing failed,
missing or duplicated, and few 429s under (b).

Run it at normal priority, not under `nice`: it mostly sleeps (about 4 s of CPU in 5 minutes),
and what it measures is waiting; on a busy machine a low priority adds the scheduler's delay
to every round trip (seen: (a) 0.88 under `nice` at load average 10, 0.95 without).
"""

from __future__ import annotations

import argparse
import math
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from central365.core.mapping import create_body, desired_contact
from central365.core.model import CentralContact, ContactWrite, FolderInfo, Outcome, WriteKind
from central365.demo.data import build_demo_data
from central365.graph import StaticTokenAuth, connect
from central365.graph.batch import BatchStrategy

TOKEN = "ceiling-token"
SLOTS = 4
BATCH = 20


@dataclass(frozen=True)
class Limits:
    """What the sandbox charges: its command-line options."""

    op_ms: int
    latency_ms: int
    budget: int = 10_000
    window_s: float = 600.0

    def options(self) -> list[str]:
        return [
            *("--op-ms", str(self.op_ms), "--latency-ms", str(self.latency_ms)),
            *("--budget", str(self.budget), "--window", str(self.window_s)),
        ]


def slot_s(n_ops: int, limits: Limits) -> float:
    """The slot bound (module docstring): chains of 20, spread over the 4 slots."""
    if n_ops <= 0:
        return 0.0
    per_slot = math.ceil(n_ops / SLOTS)
    requests = math.ceil(per_slot / BATCH)
    return (requests * limits.latency_ms + per_slot * limits.op_ms) / 1000


def ceiling_s(n_ops: int, limits: Limits) -> float:
    """The best time for `n_ops` operations: the slot bound or the budget bound, the larger."""
    full_windows = (n_ops - 1) // limits.budget
    last = n_ops - full_windows * limits.budget
    budget_bound = full_windows * limits.window_s + slot_s(last, limits)
    return max(slot_s(n_ops, limits), budget_bound)


@dataclass
class Row:
    scenario: str
    method: str
    count: int
    seconds: float
    ceiling: float
    failed: int
    missing: int
    duplicated: int
    throttled: int
    requests: int


@dataclass
class Sandbox:
    url: str
    admin: httpx.Client

    def folder(self, mailbox: str, name: str) -> str:
        """A new empty folder, made through the admin API (no budget spent)."""
        answer = self.admin.post("/seed", json={"mailbox": mailbox, "folder": name})
        answer.raise_for_status()
        folder_id: str = answer.json()["folder"]["id"]
        return folder_id

    def emails(self, mailbox: str, folder_id: str) -> Counter[str]:
        """The folder's contacts by email (after the push; not timed)."""
        found: Counter[str] = Counter()
        url: str | None = (
            f"{self.url}/users/{mailbox}/contactFolders/{folder_id}/contacts"
            "?$top=1000&$select=emailAddresses"
        )
        with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http:
            while url:
                page = http.get(url).json()
                for item in page.get("value", []):
                    for address in item.get("emailAddresses", [])[:1]:
                        found[address["address"].lower()] += 1
                url = page.get("@odata.nextLink")
        return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox_process(limits: Limits, mailboxes: list[str]) -> Iterator[Sandbox]:
    """`central365 sandbox` on a free port with these limits and mailboxes."""
    port = free_port()
    boxes = [arg for box in mailboxes for arg in ("--mailbox", box)]
    command = [sys.executable, "-m", "central365", "sandbox", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, *boxes, *limits.options()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    admin = httpx.Client(base_url=f"http://127.0.0.1:{port}/_sandbox", timeout=60)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if admin.get("/health").is_success:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start within 60 s") from None
                time.sleep(0.2)
        yield Sandbox(f"http://127.0.0.1:{port}/v1.0", admin)
    finally:
        admin.close()
        proc.terminate()
        proc.wait(timeout=30)


def creates(count: int, tag: str) -> list[ContactWrite]:
    rows = build_demo_data(size=count).rows[:count]
    writes = []
    for n, row in enumerate(rows):
        email = f"{tag}.{n}@example.com"
        body = create_body(desired_contact(CentralContact.from_row(row | {"email": email})))
        writes.append(ContactWrite(str(n), WriteKind.CREATE, body, email))
    return writes


def updates(written: list[ContactWrite], ids: dict[str, str]) -> list[ContactWrite]:
    """A changed job title and phone for every contact created before (displayName resent)."""
    changed = []
    for write in written:
        body = {
            "displayName": write.body["displayName"],
            "jobTitle": f"Updated {write.key}",
            "mobilePhone": f"+1 555 01{int(write.key):05d}",
        }
        changed.append(ContactWrite(write.key, WriteKind.UPDATE, body, write.email, ids[write.key]))
    return changed


def measure(
    box: Sandbox,
    mailbox: str,
    folder_id: str,
    writes: list[ContactWrite],
    push: Callable[[], int],
) -> tuple[float, int, int, int, dict[str, Any]]:
    """(seconds, failed, missing, duplicated, sandbox stats) of one push."""
    box.admin.post("/stats/reset")
    started = time.perf_counter()
    failed = push()
    seconds = time.perf_counter() - started
    counted: dict[str, Any] = box.admin.get("/stats").json()
    found = box.emails(mailbox, folder_id)
    wanted = {w.email for w in writes}
    missing = sum(1 for e in wanted if e not in found)
    duplicated = sum(n - 1 for e, n in found.items() if e in wanted and n > 1)
    return seconds, failed, missing, duplicated, counted


def central365_push(
    box: Sandbox,
    mailbox: str,
    folder_id: str,
    writes: list[ContactWrite],
    strategy: BatchStrategy | None = None,
    ids: dict[str, str] | None = None,
) -> Callable[[], int]:
    def push() -> int:
        options: dict[str, Any] = {} if strategy is None else {"strategy": strategy}
        with connect(box.url, mailbox, StaticTokenAuth(TOKEN), timeout=60, **options) as graph:
            folder = graph.folder(FolderInfo(folder_id, "ceiling"))
            results = folder.write(writes)
        if ids is not None:
            ids.update({r.key: r.office365_id for r in results if r.office365_id})
        return sum(1 for r in results if r.outcome not in (Outcome.CREATED, Outcome.UPDATED))

    return push


def one_request_per_contact(
    box: Sandbox,
    mailbox: str,
    folder_id: str,
    writes: list[ContactWrite],
    ids: dict[str, str] | None = None,
) -> Callable[[], int]:
    """The obvious loop on 4 threads: POST or PATCH each contact, sleeping out each 429."""
    base = f"{box.url}/users/{mailbox}/contactFolders/{folder_id}/contacts"

    def push() -> int:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(headers=headers, timeout=60) as http:

            def send(write: ContactWrite) -> bool:
                while True:
                    if write.kind is WriteKind.CREATE:
                        reply = http.post(base, json=dict(write.body))
                    else:
                        target = f"{base}/{quote(write.contact_id or '', safe='=')}"
                        reply = http.patch(target, json=dict(write.body))
                    if reply.status_code != 429:
                        if ids is not None and reply.is_success:
                            ids[write.key] = reply.json()["id"]
                        return reply.is_success
                    time.sleep(float(reply.headers.get("Retry-After", "1")))

            with ThreadPoolExecutor(SLOTS) as pool:
                return sum(1 for ok in pool.map(send, writes) if not ok)

    return push


def run_scenario(
    name: str,
    limits: Limits,
    count: int,
    alternatives: bool,
    with_updates: bool = False,
) -> list[Row]:
    methods = ["central365"] + (["one request per contact, 4 threads"] if alternatives else [])
    if alternatives and name == "a":
        methods.append("central365, one unordered batch at a time")
    mailboxes = [f"m{i}@contoso.test" for i in range(len(methods))]
    rows: list[Row] = []
    with sandbox_process(limits, mailboxes) as box:
        made: list[tuple[str, str, str, list[ContactWrite], dict[str, str]]] = []
        for method, mailbox in zip(methods, mailboxes, strict=True):
            folder_id = box.folder(mailbox, f"ceiling {name}")
            writes = creates(count, f"{name}{len(made)}")
            ids: dict[str, str] = {}
            if method == "central365":
                push = central365_push(box, mailbox, folder_id, writes, ids=ids)
            elif method.startswith("central365"):
                push = central365_push(
                    box, mailbox, folder_id, writes, BatchStrategy.ONE_UNORDERED, ids
                )
            else:
                push = one_request_per_contact(box, mailbox, folder_id, writes, ids)
            made.append((method, mailbox, folder_id, writes, ids))
            rows.append(
                _row(name, method, limits, count, measure(box, mailbox, folder_id, writes, push))
            )
        if with_updates:
            for method, mailbox, folder_id, writes, ids in made:
                changed = updates(writes, ids)
                if method == "central365":
                    push = central365_push(box, mailbox, folder_id, changed)
                elif method.startswith("central365"):
                    push = central365_push(
                        box, mailbox, folder_id, changed, BatchStrategy.ONE_UNORDERED
                    )
                else:
                    push = one_request_per_contact(box, mailbox, folder_id, changed)
                measured = measure(box, mailbox, folder_id, changed, push)
                rows.append(_row("c", method, limits, count, measured))
    return rows


def _row(
    name: str,
    method: str,
    limits: Limits,
    count: int,
    measured: tuple[float, int, int, int, dict[str, Any]],
) -> Row:
    seconds, failed, missing, duplicated, counted = measured
    return Row(
        name,
        method,
        count,
        seconds,
        ceiling_s(count, limits),
        failed,
        missing,
        duplicated,
        int(counted.get("throttled", 0)),
        int(counted.get("requests", 0)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=["a", "b", "c"], default=["a", "b", "c"])
    parser.add_argument("--count-a", type=int, default=2000, help="contacts of (a) and (c)")
    parser.add_argument("--count-b", type=int, default=1500, help="contacts of (b)")
    parser.add_argument("--no-alternatives", action="store_true", help="only central365 (quicker)")
    args = parser.parse_args()
    alternatives = not args.no_alternatives
    slot_bound = Limits(op_ms=20, latency_ms=50)
    budget_bound = Limits(op_ms=20, latency_ms=50, budget=600, window_s=30)
    rows: list[Row] = []
    if "a" in args.only or "c" in args.only:
        rows += run_scenario("a", slot_bound, args.count_a, alternatives, "c" in args.only)
        if "a" not in args.only:
            rows = [r for r in rows if r.scenario != "a"]
    if "b" in args.only:
        rows += run_scenario("b", budget_bound, args.count_b, alternatives)
    print(
        "(a), (c): --op-ms 20 --latency-ms 50; (b): the same plus --budget 600 --window 30; "
        "4 slots, batches of at most 20"
    )
    header = (
        f"{'':<3} {'method':<42} {'contacts':>8} {'seconds':>8} {'ceiling':>8} "
        f"{'fraction':>8} {'failed':>6} {'missing':>7} {'dup':>4} {'429s':>5} {'requests':>8}"
    )
    print(header)
    for r in sorted(rows, key=lambda r: r.scenario):
        print(
            f"{r.scenario + ')':<3} {r.method:<42} {r.count:>8} {r.seconds:>8.2f} "
            f"{r.ceiling:>8.2f} {r.ceiling / r.seconds:>8.2f} {r.failed:>6} {r.missing:>7} "
            f"{r.duplicated:>4} {r.throttled:>5} {r.requests:>8}"
        )


if __name__ == "__main__":
    main()
