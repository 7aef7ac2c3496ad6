"""Synchronisation runs in a real browser: select, synchronise, follow, reload, history.

Each test starts its own demo stack (they write into the sandbox's mailbox) and checks what
landed in Office 365 through the sandbox's store.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import Page, expect

from central365.demo.data import OTHER_FOLDER, DemoData, build_demo_data
from central365.demo.run import DEMO_FOLDER, DEMO_MAILBOX, DEMO_USER
from tests.browser.conftest import (
    Demo,
    expected_counts,
    full_name,
    number,
    plan_after_run,
    screenshot,
    sign_in,
    tab_counts,
    wait_for_run_end,
)

pytestmark = pytest.mark.e2e

RUN_URL = re.compile(r"/runs/(\d+)$")


def select_and_synchronise(page: Page, names: list[str]) -> None:
    for name in names:
        page.get_by_label(f"Select {name}", exact=True).check()
    expect(page.locator("[data-selected-count]")).to_have_text(f"{len(names)} records selected.")
    page.get_by_role("button", name="Synchronise selected").click()
    page.wait_for_url(RUN_URL)


def expect_finished(page: Page, *, total: int, created: int = 0, updated: int = 0) -> None:
    wait_for_run_end(page)
    run = page.locator("#run")
    expect(run).to_have_attribute("data-status", "finished")
    expect(run.locator("[data-status-text]")).to_have_text("Finished.")
    progress = page.locator("#run-progress")
    expect(progress).to_have_attribute("data-done", str(total))
    expect(progress).to_have_attribute("data-total", str(total))
    assert progress.evaluate("p => [p.value, p.max]") == [total, total]
    expect(run.locator('[data-count="done"]')).to_have_text(f"{total:,}")
    expect(run.locator('[data-count="created"]')).to_have_text(f"{created:,}")
    expect(run.locator('[data-count="updated"]')).to_have_text(f"{updated:,}")
    expect(run.locator('[data-count="failed"]')).to_have_text("0")
    expect(run.get_by_text("No record has failed.")).to_be_visible()
    expect(run.get_by_role("link", name="Back to the homepage")).to_be_visible()


def test_synchronising_two_selected_new_contacts_creates_exactly_those(
    page: Page, demo: Demo, demo_data: DemoData
) -> None:
    # Row 30 (unicode) and row 73 (also in "Personal", never matched there): both new.
    rows = [demo_data.rows[30], demo_data.rows[73]]
    names = [full_name(r) for r in rows]
    before = demo.snapshot()
    central = demo.folder(DEMO_FOLDER)["id"]
    personal = demo.folder(OTHER_FOLDER)["id"]
    sign_in(page, demo)

    select_and_synchronise(page, names)

    expect(
        page.get_by_role("heading", name=re.compile(r"^Synchronisation run \d+$"))
    ).to_be_visible()
    expect(page.locator("#run")).to_contain_text(f"Into folder {DEMO_FOLDER} of {DEMO_MAILBOX}")
    expect_finished(page, total=2, created=2)
    screenshot(page, "run-finished-two-new")

    after = demo.snapshot()
    assert after.keys() == before.keys()  # no folder created or removed
    for folder_id in before:
        assert after[folder_id]["folder"] == before[folder_id]["folder"]
    assert after[personal] == before[personal]  # "Personal" untouched, contact for contact
    old, new = before[central]["contacts"], after[central]["contacts"]
    assert len(new) == len(old) + 2
    assert {k: new[k] for k in old} == old  # nothing that was there changed
    created = [new[k] for k in new.keys() - old.keys()]
    assert sorted(c["emailAddresses"][0]["address"] for c in created) == sorted(
        r["email"] for r in rows
    )
    assert sorted(c["displayName"] for c in created) == sorted(names)

    # The homepage is planned again after the run: those two are no longer new.
    page.get_by_role("link", name="Back to the homepage").click()
    expected = expected_counts()
    counts = plan_after_run(page, demo.url + "/")
    assert counts == expected.counts() | {
        "new": expected.new - 2,
        "unchanged": expected.unchanged + 2,
    }
    for name in names:
        expect(page.get_by_label(f"Select {name}", exact=True)).to_have_count(0)


def test_a_run_goes_on_through_a_reload(page: Page, make_demo: Callable[..., Demo]) -> None:
    # A bigger Central (529 new) and 300 ms per Graph request: the run takes a few seconds.
    size = 600
    demo = make_demo(size)
    expected = expected_counts(size)
    sign_in(page, demo)
    assert tab_counts(page)["new"] == expected.new
    demo.set_faults(latency_ms=300)

    page.get_by_label(re.compile(r"Select all [\d,]+ records in “New to Office 365”")).check()
    expect(page.locator("[data-selected-count]")).to_have_text(
        "Every record in this state is selected."
    )
    page.get_by_role("button", name="Synchronise selected").click()
    page.wait_for_url(RUN_URL)
    progress = page.locator("#run-progress")
    page.wait_for_function(
        "() => Number(document.getElementById('run-progress').dataset.done) > 0",
        timeout=30_000,
    )

    response = page.reload()
    assert response is not None and response.ok
    # What the server rendered on the reload: the run is still going, part-way through.
    served = BeautifulSoup(response.text(), "html.parser")
    bar = served.select_one("#run-progress")
    assert bar is not None
    done, total = int(str(bar["data-done"])), int(str(bar["data-total"]))
    assert total == expected.new
    assert 0 < done < total, f"reloaded at {done} of {total}"
    assert served.select_one("#run")["data-status"] == "running"  # type: ignore[index]
    expect(page.locator("[data-status-text]")).to_have_text(
        "Running… it goes on if you close this page."
    )
    # The reloaded page keeps following the run: progress moves on past the reload point.
    page.wait_for_function(
        f"() => Number(document.getElementById('run-progress').dataset.done) > {done}",
        timeout=30_000,
    )
    expect_finished(page, total=expected.new, created=expected.new)
    assert progress.evaluate("p => p.value") == expected.new
    screenshot(page, "run-finished-after-reload")
    demo.set_faults(latency_ms=0)

    assert len(demo.contacts()) == len(build_demo_data(size).folder_contacts) + expected.new
    page.get_by_role("link", name="Back to the homepage").click()
    counts = plan_after_run(page, demo.url + "/")
    assert counts == expected.counts() | {"new": 0, "unchanged": expected.unchanged + expected.new}
    expect(page.locator(".range")).to_have_text("No records in this state.")


def test_history_lists_runs_with_who_and_counts(
    page: Page, demo: Demo, demo_data: DemoData
) -> None:
    expected = expected_counts()
    new_rows = [demo_data.rows[31], demo_data.rows[30]]  # the markup name, the unicode one
    sign_in(page, demo)

    select_and_synchronise(page, [full_name(r) for r in new_rows])
    expect_finished(page, total=2, created=2)
    first_run = int(RUN_URL.search(page.url).group(1))  # type: ignore[union-attr]

    page.get_by_role("link", name="Back to the homepage").click()
    page.get_by_role("link", name=re.compile("^Requires update")).click()
    page.get_by_label(re.compile(r"Select all 20 records in “Requires update”")).check()
    page.get_by_role("button", name="Synchronise selected").click()
    page.wait_for_url(RUN_URL)
    expect_finished(page, total=expected.update, updated=expected.update)
    second_run = int(RUN_URL.search(page.url).group(1))  # type: ignore[union-attr]

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    runs = page.locator("table.history tbody tr")
    expect(runs).to_have_count(2)
    expect(runs.nth(0)).to_have_attribute("data-run-id", str(second_run))  # newest first
    expect(runs.nth(1)).to_have_attribute("data-run-id", str(first_run))
    for row, (selected, created, updated) in zip(
        [runs.nth(0), runs.nth(1)], [(expected.update, 0, expected.update), (2, 2, 0)], strict=True
    ):
        expect(row.locator("[data-started-by]")).to_contain_text(DEMO_USER)
        expect(row.locator("[data-status]")).to_have_text("Finished")
        expect(row.locator('[data-count="selected"]')).to_have_text(str(selected))
        expect(row.locator('[data-count="created"]')).to_have_text(str(created))
        expect(row.locator('[data-count="updated"]')).to_have_text(str(updated))
        expect(row.locator('[data-count="failed"]')).to_have_text("0")
        expect(row).to_contain_text(f"{DEMO_FOLDER} ({DEMO_MAILBOX})")
    screenshot(page, "history")

    # The update run: one outcome per record, every one updated.
    page.get_by_role("link", name=f"Run {second_run}", exact=True).click()
    expect(page.get_by_role("heading", name=f"Run {second_run}")).to_be_visible()
    expect(page.locator(".run-facts [data-started-by]")).to_contain_text(DEMO_USER)
    outcomes = page.locator("table.outcomes tbody tr")
    expect(outcomes).to_have_count(expected.update)
    assert set(outcomes.evaluate_all("rows => rows.map(r => r.dataset.outcome)")) == {"updated"}
    assert sorted(outcomes.evaluate_all("rows => rows.map(r => r.dataset.key)")) == sorted(
        r["id"] for r in demo_data.rows[52:72]
    )

    # The first run: the two created records, by name (markup shown as text).
    page.goto(f"{demo.url}/history/{first_run}")
    outcomes = page.locator("table.outcomes tbody tr")
    expect(outcomes).to_have_count(2)
    for r in new_rows:
        outcome = page.locator(f'table.outcomes tr[data-key="{r["id"]}"]')
        expect(outcome).to_have_attribute("data-outcome", "created")
        expect(outcome.locator('td[data-label="Name"]')).to_have_text(full_name(r))
        expect(outcome.locator('td[data-label="Email"]')).to_have_text(r["email"])
        expect(outcome.locator('td[data-label="Outcome"]')).to_have_text("Created")
    assert number(page.locator('.run-facts [data-count="created"]').inner_text()) == 2
    # Long facts (name and address, folder and mailbox) wrap inside their boxes.
    clipped = page.locator(".run-facts dd").evaluate_all(
        "dds => dds.filter(d => d.scrollWidth > d.clientWidth).map(d => d.textContent)"
    )
    assert clipped == []
    screenshot(page, "history-run-outcomes")
    page.get_by_role("link", name="Show only failures").click()
    expect(page.get_by_text("No outcome recorded as failed.")).to_be_visible()
