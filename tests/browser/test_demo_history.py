"""`make demo` plays a short past (an earlier run, then edits in Outlook and in Central): the
homepage shows the Outlook edit with all three values and the email change followed by its
anchor, and History lists the earlier run."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from central365.demo.data import build_demo_data
from central365.demo.history import (
    DELETED_IN_OUTLOOK,
    EDITED_IN_OUTLOOK,
    EMAIL_CHANGED,
    LEFT_CENTRAL,
    OUTLOOK_MOBILE,
)

from .conftest import DEMO_SIZE, Demo, sign_in

pytestmark = pytest.mark.e2e


def test_the_demo_shows_an_outlook_edit_and_an_email_change(
    page: Page, make_demo: Callable[..., Demo]
) -> None:
    demo = make_demo(history=True)
    assert demo.stack.history_error is None
    assert demo.stack.history is not None
    sign_in(page, demo)
    page.get_by_role("link", name=re.compile("^Requires update")).click()

    edited = page.locator(f'table.plan tr[data-key="{EDITED_IN_OUTLOOK}"]')
    edited.locator("summary").click()
    mobile = edited.locator('tr[data-field="mobilePhone"]')
    expect(mobile.locator(".before")).to_contain_text(OUTLOOK_MOBILE)
    expect(mobile.locator("[data-edited-in-office365]")).to_contain_text(
        "Outlook changed this since the last sync"
    )

    moved = page.locator(f'table.plan tr[data-key="{EMAIL_CHANGED}"]')
    moved.locator("summary").click()
    expect(moved.locator("tr[data-field]").first).to_contain_text(demo.stack.history.new_email)

    deleted = next(r for r in build_demo_data(DEMO_SIZE).rows if r["id"] == DELETED_IN_OUTLOOK)
    page.goto(f"{demo.url}/?state=new&q={deleted['email']}")
    expect(page.locator(f'table.plan tr[data-key="{DELETED_IN_OUTLOOK}"]')).to_contain_text(
        "will be recreated"
    )
    page.goto(f"{demo.url}/?state=orphans")
    expect(page.locator(f'tr[data-key="{LEFT_CENTRAL}"] [data-why]')).to_have_attribute(
        "data-why", "record_inactive"
    )

    page.goto(f"{demo.url}/history")
    expect(page.get_by_text("command line", exact=False).first).to_be_visible()
    # The earlier run can be undone: the preview skips the contact edited in Outlook since.
    page.goto(f"{demo.url}/history/{demo.stack.history.run_id}")
    page.locator("[data-undo-link]").click()
    expect(page.locator("body")).to_contain_text("Changed in Outlook since run")
