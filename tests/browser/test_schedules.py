"""The Schedules page in Chromium, on the demo stack: the Staff target's nightly schedule,
Run now into every Staff mailbox (as the demo app, over the sandbox), the run's page linking
each mailbox to History, Pause and Resume; a person without the admin role never sees it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from central365.demo.run import DEMO_FOLDER
from central365.demo.staff import STAFF_GROUP_ID, staff_mailboxes
from tests.browser.conftest import Demo, screenshot
from tests.browser.test_roles import sign_in_as

pytestmark = pytest.mark.e2e

TARGET_RUN_URL = re.compile(r"/history/targets/(\d+)$")


def test_run_now_pause_and_resume_the_staff_schedule(page: Page, demo: Demo) -> None:
    sign_in_as(page, demo, "Demo User")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedules").click()
    staff = page.locator('[data-target="staff"]')
    expect(staff.locator("[data-who]")).to_have_text(f"Members of the Entra group {STAFF_GROUP_ID}")
    expect(staff.locator("[data-folder]")).to_have_text(DEMO_FOLDER)
    expect(staff.locator("[data-when]")).to_contain_text("At 02:00, Europe/London time")
    expect(staff.locator("[data-next-run]")).to_contain_text("02:00")
    expect(staff.locator('[data-last-run="none"]')).to_be_visible()
    screenshot(page, "schedules-before-run")

    staff.get_by_role("button", name="Run now").click()
    page.wait_for_url(TARGET_RUN_URL)
    for _ in range(120):  # the run page shows the run as it is; reload until it has ended
        if page.locator("[data-status]").first.get_attribute("data-status") != "running":
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("[data-status]").first).to_have_attribute("data-status", "finished")
    rows = page.locator("[data-mailbox]")
    expect(rows).to_have_count(len(staff_mailboxes()))
    for mailbox in staff_mailboxes():
        row = page.locator(f'[data-mailbox="{mailbox}"]')
        expect(row.locator("[data-status]")).to_have_text("Done")
        expect(row.locator('[data-count="created"]')).not_to_have_text("0")
    screenshot(page, "schedules-target-run")
    first = staff_mailboxes()[0]
    page.locator(f'[data-mailbox="{first}"] a').click()
    expect(page).to_have_url(re.compile(r"/history/\d+$"))
    expect(page.get_by_text(first).first).to_be_visible()

    page.goto(f"{demo.url}/schedules")
    expect(staff.locator("[data-last-run]")).to_contain_text("Demo User")
    staff.get_by_role("button", name="Pause").click()
    expect(staff.locator("[data-paused]")).to_have_attribute("data-paused", "yes")
    expect(staff.locator("[data-next-run]")).to_contain_text("Paused")
    staff.get_by_role("button", name="Resume").click()
    expect(staff.locator("[data-paused]")).to_have_attribute("data-paused", "no")


def test_staff_user_never_sees_the_schedules(page: Page, shared_demo: Demo) -> None:
    demo = shared_demo
    sign_in_as(page, demo, "Staff User")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Schedules")).to_have_count(0)
    response = page.goto(f"{demo.url}/schedules")
    assert response is not None and response.status == 403
    expect(page.locator("[data-error-message]")).to_contain_text("may see and run the schedules")
    expect(page.locator("[data-role-needed]")).to_have_text(re.compile("Central365.Admin"))
    expect(page.get_by_role("button", name="Run now")).to_have_count(0)
