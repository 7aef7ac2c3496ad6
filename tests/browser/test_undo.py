"""Undo in a real browser: a run's History page, the preview, the confirmation, the undo's run."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from central365.demo.data import DemoData
from central365.demo.run import DEMO_FOLDER
from tests.browser.conftest import Demo, full_name, screenshot, sign_in, wait_for_run_end
from tests.browser.test_runs import RUN_URL, expect_finished, select_and_synchronise

pytestmark = pytest.mark.e2e


def test_a_run_is_undone_from_its_history_page(page: Page, demo: Demo, demo_data: DemoData) -> None:
    rows = [demo_data.rows[30], demo_data.rows[73]]
    names = [full_name(r) for r in rows]
    before = {c["id"]: c for c in demo.contacts(DEMO_FOLDER)}
    sign_in(page, demo)
    select_and_synchronise(page, names)
    expect_finished(page, total=2, created=2)
    run_id = int(RUN_URL.search(page.url).group(1))  # type: ignore[union-attr]
    assert len(demo.contacts(DEMO_FOLDER)) == len(before) + 2

    page.goto(f"{demo.url}/history/{run_id}")
    page.get_by_role("link", name="Undo this run").click()
    expect(page.get_by_role("heading", name=f"Undo run {run_id}?")).to_be_visible()
    table = page.locator("table.undo-items")
    for name in names:
        expect(table.locator("tr", has_text=name)).to_contain_text("Delete")
    expect(page.locator('[data-count="delete"]')).to_have_text("2")
    screenshot(page, "undo-preview")
    assert len(demo.contacts(DEMO_FOLDER)) == len(before) + 2  # the preview wrote nothing

    page.get_by_role("button", name=f"Undo run {run_id}").click()
    page.wait_for_url(RUN_URL)
    expect(page.get_by_role("heading", name=re.compile(r"^Undo run \d+$"))).to_be_visible()
    wait_for_run_end(page)
    run = page.locator("#run")
    expect(run).to_have_attribute("data-status", "finished")
    expect(run.locator('[data-count="deleted"]')).to_have_text("2")
    screenshot(page, "undo-finished")
    assert {c["id"]: c for c in demo.contacts(DEMO_FOLDER)} == before

    # Nothing is left to undo: the run's page says so beside the preview's disabled button.
    page.goto(f"{demo.url}/history/{run_id}/undo")
    expect(page.get_by_role("button", name=f"Undo run {run_id}")).to_be_disabled()
    expect(page.locator("[data-undo-nothing]")).to_be_visible()
    page.goto(f"{demo.url}/history")
    expect(page.locator(f'[data-undoes="{run_id}"]')).to_have_text(f"(undo of run {run_id})")
