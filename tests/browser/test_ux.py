"""What a person sees: focus after a form comes back, the sticky bar, a phone, the Guide links.

These tests only read (a failed save stores nothing), so they share one demo stack.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Demo, Pages, screenshot, sign_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 667}


def in_view(page: Page, selector: str = ":focus") -> dict[str, Any]:
    """Where an element is against the window and the sticky bar (if the page has one)."""
    return page.evaluate(
        """selector => {
          const element = document.querySelector(selector);
          const box = element.getBoundingClientRect();
          const bar = document.querySelector('.sync-bar');
          return {
            id: element.id, top: box.top, bottom: box.bottom, height: window.innerHeight,
            barTop: bar ? bar.getBoundingClientRect().top : window.innerHeight,
          };
        }""",
        selector,
    )


def test_a_failed_save_puts_focus_and_view_on_the_first_bad_field(
    page: Page, shared_demo: Demo
) -> None:
    page.set_viewport_size({"width": 1000, "height": 600})
    sign_in(page, shared_demo)
    page.goto(f"{shared_demo.url}/settings")
    page.get_by_label("App-only: one shared or service mailbox").check()
    page.get_by_label("Target mailbox").fill("")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_load_state("load")
    expect(page.locator("[data-errors]")).to_be_visible()  # nothing was saved

    first_bad = page.locator('[aria-invalid="true"]').first
    expect(first_bad).to_have_id("target_mailbox")
    expect(first_bad).to_be_focused()
    where = in_view(page)
    assert where["id"] == "target_mailbox"
    assert where["top"] >= 0 and where["bottom"] <= where["height"], where
    screenshot(page, "settings-failed-save-focus")


def test_test_connection_puts_focus_and_view_on_its_result(page: Page, shared_demo: Demo) -> None:
    page.set_viewport_size({"width": 1000, "height": 600})
    sign_in(page, shared_demo)
    page.goto(f"{shared_demo.url}/settings")
    page.get_by_role("button", name="Test connection").click()
    page.wait_for_load_state("load")

    result = page.locator("#test-result")
    expect(result).to_be_visible()
    expect(result).to_contain_text("record")  # the count, never a line of the source
    expect(result).to_be_focused()
    where = in_view(page, "#test-result")
    assert where["top"] >= 0 and where["top"] < where["height"], where
    screenshot(page, "settings-test-connection-focus")


def test_the_sticky_bar_never_hides_the_focused_row(page: Page, shared_demo: Demo) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, shared_demo)
    boxes = page.locator("[data-row-check]")
    assert boxes.count() >= 20
    boxes.first.focus()
    for step in range(20):
        where = in_view(page)
        assert where["bottom"] <= where["barTop"] + 0.5, f"tab {step} hid {where['id']}: {where}"
        assert where["top"] >= 0, where
        page.keyboard.press("Tab")
    screenshot(page, "phone-sticky-bar-focus")


def test_synchronise_with_nothing_ticked_explains_on_the_page(
    page: Page, shared_demo: Demo
) -> None:
    sign_in(page, shared_demo)
    before = page.url
    button = page.get_by_role("button", name="Synchronise selected")
    button.click()
    hint = page.locator("[data-sync-hint]")
    expect(hint).to_be_visible()
    expect(hint).to_have_text("Nothing is selected: tick at least one record, or “Select all”.")
    expect(hint).to_have_attribute("role", "alert")
    expect(button).to_have_attribute("aria-describedby", "sync-hint")
    assert page.url == before  # no request, no error page
    # Ticking a record takes the hint away; the form then submits normally.
    page.locator("[data-row-check]").first.check()
    expect(hint).to_be_hidden()


def test_the_settings_page_fits_a_phone(pages: Pages, shared_demo: Demo) -> None:
    page = pages.new(viewport=PHONE, is_mobile=True, has_touch=True)
    sign_in(page, shared_demo)
    page.goto(f"{shared_demo.url}/settings")
    size = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert size["inner"] == 375
    assert size["scroll"] <= size["inner"], f"Settings scrolls sideways on a phone: {size}"
    scopes = page.locator("table.scopes")
    expect(scopes).to_be_visible()
    right_edges = scopes.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => r.getBoundingClientRect().right)"
    )
    assert right_edges and max(right_edges) <= 375, right_edges
    # Stacked rows keep their column names.
    expect(scopes.locator("tbody tr td[data-label='Kind']").first).to_be_visible()
    wrap = page.locator("#scopes .table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth")
    small = page.locator('input[type="checkbox"], input[type="radio"]').evaluate_all(
        """inputs => inputs.filter(i => i.offsetParent !== null)
             .map(i => [i.name, i.getBoundingClientRect().width, i.getBoundingClientRect().height])
             .filter(([, w, h]) => w < 24 || h < 24)"""
    )
    assert small == [], f"boxes smaller than 24 px: {small}"
    assert page.locator('input[type="radio"]').count() >= 2
    screenshot(page, "phone-settings")


def test_homepage_checkboxes_are_at_least_24_px_on_a_phone(pages: Pages, shared_demo: Demo) -> None:
    page = pages.new(viewport=PHONE, is_mobile=True, has_touch=True)
    sign_in(page, shared_demo)
    sizes = page.locator('input[type="checkbox"]').evaluate_all(
        """inputs => inputs.filter(i => i.offsetParent !== null)
             .map(i => Math.min(i.getBoundingClientRect().width, i.getBoundingClientRect().height))"""
    )
    assert len(sizes) > 10 and min(sizes) >= 24, sizes


def test_a_reason_on_the_homepage_opens_its_place_in_the_guide(
    page: Page, shared_demo: Demo
) -> None:
    sign_in(page, shared_demo)
    page.goto(f"{shared_demo.url}/?state=non_actionable")
    link = page.locator("td.reasons a").first
    reason = link.evaluate("a => a.closest('li').dataset.reason")
    link.click()
    expect(page).to_have_url(f"{shared_demo.url}/guide#reason-{reason}")
    place = page.locator(f"#reason-{reason}")
    expect(place).to_be_in_viewport()
    expect(page.get_by_role("heading", name="Guide", level=1)).to_be_attached()


def test_a_field_label_in_a_diff_opens_its_place_in_the_guide(
    page: Page, shared_demo: Demo
) -> None:
    sign_in(page, shared_demo)
    page.goto(f"{shared_demo.url}/?state=update")
    page.locator("table.plan summary").first.click()
    label = page.locator("table.diff th[scope=row] a").first
    expect(label).to_be_visible()
    href = label.get_attribute("href")
    assert href is not None and href.startswith("/guide#field-")
    label.click()
    expect(page).to_have_url(f"{shared_demo.url}{href}")
    expect(page.locator(f"[id='{href.split('#')[1]}']")).to_be_in_viewport()


def test_the_guide_fits_a_phone(pages: Pages, shared_demo: Demo) -> None:
    page = pages.new(viewport=PHONE, is_mobile=True, has_touch=True)
    sign_in(page, shared_demo)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Guide").click()
    expect(page.get_by_role("heading", name="Guide", level=1)).to_be_visible()
    size = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert size["scroll"] <= size["inner"], f"the Guide scrolls sideways on a phone: {size}"
    screenshot(page, "phone-guide")
