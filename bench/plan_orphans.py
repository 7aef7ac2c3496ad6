"""Benchmark: what finding orphans and people's own contacts adds to a large plan.

    .venv/bin/python bench/plan_orphans.py

100,000 Central records against a folder of 50,000 contacts: 40,000 anchored to their records,
5,000 anchored to records gone from Central (orphans), 5,000 of people's own (no anchor).
Prints the whole `build_plan` time and the part spent on the orphans (`plan._orphans`), each the
better of two runs with the cycle collector paused as the service pauses it.
"""

from __future__ import annotations

import time

from central365.core.model import CentralContact, EmailAddress, FolderContact
from central365.core.plan import _orphans, build_plan
from central365.engine.collector import cycle_collector_paused


def main() -> None:
    records = [
        CentralContact(str(n), "active", "", f"A{n}", "Lee", f"a{n}@example.com")
        for n in range(100_000)
    ]
    folder = [
        FolderContact(
            id=f"c{n}",
            given_name=f"A{n}",
            surname="Lee",
            display_name=f"A{n} Lee",
            email_addresses=(EmailAddress(f"a{n}@example.com"),),
            anchor=str(n),
        )
        for n in range(40_000)
    ]
    folder += [
        FolderContact(
            id=f"o{n}",
            display_name=f"O{n}",
            email_addresses=(EmailAddress(f"o{n}@example.com"),),
            anchor=f"gone{n}",
        )
        for n in range(5_000)
    ]
    folder += [
        FolderContact(
            id=f"p{n}", display_name=f"P{n}", email_addresses=(EmailAddress(f"p{n}@example.com"),)
        )
        for n in range(5_000)
    ]
    whole = part = float("inf")
    with cycle_collector_paused():
        for _ in range(2):
            started = time.perf_counter()
            plan = build_plan(records, folder)
            whole = min(whole, time.perf_counter() - started)
            started = time.perf_counter()
            _orphans(folder, plan.items, set())
            part = min(part, time.perf_counter() - started)
    print(
        f"build_plan, 100,000 records against 50,000 contacts: {whole:.2f} s, of which orphans "
        f"{part * 1000:.0f} ms ({part / whole:.0%}); {len(plan.orphans):,} orphans, "
        f"{plan.unanchored_count:,} of people's own"
    )


if __name__ == "__main__":
    main()
