"""Benchmark: the homepage on a 100,000-record plan, and a 1,000-record run from the page.

    .venv/bin/python bench/homepage.py [--records 100000] [--folder 50000] [--run 1000]
        [--latency-ms 50]

Starts the demo stack (sandbox with sign-in over TLS, homepage) with a Central of `--records`
records, signs in as the demo user through the sandbox's sign-in page (as a browser would:
authorize page → form → callback), then measures, as seen by an HTTP client on loopback:

1. the first homepage visit, which reads Central and the folder (`--folder` contacts that
   match Central records, added to the demo folder) and plans: until the plan is made (the
   page shows its progress meanwhile, polling `/api/plan/progress` as this does), and when
   the page itself answered;
1b. "Plan again" twice with nothing changed (`POST /api/plan`): time and Graph requests — the
   folder is read as kept in the application database plus one delta round (issue 11 §3);
2. one page of the plan (50 rows) — the median of 30 requests over different pages, tabs
   and searches, served from the plan kept in memory;
3. a run of `--run` new records started like the **Synchronise selected** button does
   (POST with the selected keys and the CSRF token), with the sandbox's latency set to
   `--latency-ms` per HTTP request: time from the POST to the run's end (polled every 100 ms),
   and the Graph requests it took.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

import httpx
from bs4 import BeautifulSoup, Tag

from central365.core.mapping import create_body, desired_contact
from central365.core.model import CentralContact
from central365.demo.data import build_demo_data
from central365.demo.run import DEMO_FOLDER, DEMO_MAILBOX, DemoOptions, DemoStack
from central365.mailstore.store import seed_folder


def sign_in(client: httpx.Client, homepage: str) -> str:
    """Follow the sign-in as a browser does; returns the CSRF token of the signed-in session."""
    page = client.get(homepage + "/", follow_redirects=True)
    soup = BeautifulSoup(page.text, "html.parser")
    button = soup.find("button", string=re.compile("Sign in as Demo User"))
    form = button.find_parent("form") if isinstance(button, Tag) else None
    if not isinstance(button, Tag) or not isinstance(form, Tag):
        raise RuntimeError("the sandbox sign-in page did not look as expected")
    fields = {
        str(i["name"]): str(i.get("value", "")) for i in form.find_all("input", type="hidden")
    }
    fields[str(button["name"])] = str(button["value"])
    target = urljoin(str(page.url), str(form.get("action", "")))
    done = client.post(target, data=fields, follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', done.text)
    if token is None:
        raise RuntimeError("signing in did not reach the homepage")
    return token.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--folder", type=int, default=50_000)
    parser.add_argument("--run", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        options = DemoOptions(
            data_dir=Path(tmp), port=0, sandbox_port=0, size=args.records, wait=False
        )
        with DemoStack(options) as stack, httpx.Client(timeout=600) as client:
            rows = build_demo_data(args.records).rows  # the demo's Central, seeded the same
            in_sync = [
                create_body(desired_contact(CentralContact.from_row(row)))
                for row in rows[100 : 100 + args.folder]
            ]
            seed_folder(stack.sandbox.store, DEMO_MAILBOX, DEMO_FOLDER, in_sync)
            home = stack.homepage_url
            started = time.perf_counter()
            csrf = sign_in(client, home)  # lands on the homepage, which plans on first visit
            first_page = time.perf_counter() - started  # the plan, or its progress
            while client.get(home + "/api/plan/progress").json()["status"] == "planning":
                time.sleep(0.05)  # as the page polls while the plan is made in the background
            first_visit = time.perf_counter() - started
            refreshes = []
            with httpx.Client(
                base_url=stack.sandbox.admin_url, verify=str(stack.sandbox.ca_path)
            ) as admin:
                for _ in range(2):
                    admin.post("/stats/reset")
                    t = time.perf_counter()
                    again = client.post(home + "/api/plan", headers={"X-CSRF-Token": csrf})
                    again.raise_for_status()
                    seconds = time.perf_counter() - t
                    refreshes.append((seconds, admin.get("/stats").json()["requests"]))

            timings = []
            for n in range(30):
                state = ("new", "update", "non_actionable")[n % 3]
                query = {"state": state, "page": str(1 + (n * 37) % 40)}
                if n % 5 == 4:
                    query = {"state": "new", "q": "smith"}
                t = time.perf_counter()
                reply = client.get(home + "/", params=query)
                timings.append(time.perf_counter() - t)
                reply.raise_for_status()
            keys: list[str] = []
            page_number = 1
            while len(keys) < args.run:  # the keys of the first new records, as ticked on pages
                reply = client.get(
                    home + "/api/plan",
                    params={"state": "new", "page": page_number, "per_page": 200},
                )
                reply.raise_for_status()
                items = reply.json()["items"]
                if not items:
                    break
                keys += [item["key"] for item in items]
                page_number += 1
            keys = keys[: args.run]
            with httpx.Client(
                base_url=stack.sandbox.admin_url, verify=str(stack.sandbox.ca_path)
            ) as admin:
                admin.put("/faults", json={"latency_ms": args.latency_ms})
                admin.post("/stats/reset")
                t = time.perf_counter()
                run = client.post(
                    home + "/api/runs", json={"keys": keys}, headers={"X-CSRF-Token": csrf}
                )
                run.raise_for_status()
                run_url = home + f"/api/runs/{run.json()['id']}"
                while True:
                    progress = client.get(run_url).json()
                    if progress["status"] != "running":
                        break
                    time.sleep(0.1)
                run_s = time.perf_counter() - t
                graph_requests = admin.get("/stats").json()["requests"]

    print(f"Homepage, {args.records:,} Central records (demo data), demo stack on loopback")
    print(
        f"  first visit (sign-in + read Central and folder + plan): {first_visit:6.2f} s "
        f"(the page answered in {first_page:.2f} s, with the plan or its progress)"
    )
    for n, (seconds, requests) in enumerate(refreshes, 1):
        print(
            f"  Plan again #{n}, nothing changed ({args.folder:,} contacts in the folder): "
            f"{seconds:6.2f} s, {requests} Graph requests"
        )
    print(
        f"  one page of the plan (50 rows), median of {len(timings)}: "
        f"{statistics.median(timings) * 1000:6.1f} ms (max {max(timings) * 1000:.1f} ms)"
    )
    print(
        f"  Synchronise selected, {len(keys)} new records, sandbox latency {args.latency_ms} ms: "
        f"{run_s:6.2f} s to the run's end ({progress['created']} created, {progress['failed']} failed), "
        f"{graph_requests} Graph HTTP requests (plan again + writes)"
    )


if __name__ == "__main__":
    main()
