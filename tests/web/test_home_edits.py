"""The homepage's diff of a field edited in Office 365: all three values, as escaped text."""

from __future__ import annotations

from datetime import UTC, datetime

from central365.core.model import FieldChange, Plan, PlanItem, State
from central365.engine.service import FolderRef, PlanReport
from tests.web.conftest import FOLDER, MAILBOX, Web
from tests.web.test_home import put_plan


def edited_report() -> PlanReport:
    items = (
        PlanItem(
            key="1",
            state=State.UPDATE,
            name="Ann Lee",
            email="ann@example.com",
            office365_id="c1",
            changes=(
                FieldChange("mobilePhone", "<b>07700 900999</b>", "07700 900001", "07700 900001"),
                FieldChange("homeAddress.city", "Leeds", "York"),
            ),
            edited_in_office365=("mobilePhone", "businessHomePage"),
        ),
        PlanItem(
            key="2",
            state=State.UNCHANGED,
            name="Bo Ng",
            email="bo@example.com",
            office365_id="c2",
            edited_in_office365=("mobilePhone",),
        ),
    )
    return PlanReport(MAILBOX, FolderRef(FOLDER, "f1", True), Plan(items=items), datetime.now(UTC))


def test_an_edited_field_shows_outlook_central_and_the_last_write(signed_in: Web) -> None:
    put_plan(signed_in, edited_report())
    page = signed_in.soup("/?state=update")
    (row,) = page.select("table.plan > tbody > tr")
    mobile = row.select_one('tr[data-field="mobilePhone"]')
    assert mobile.select_one(".after").get_text() == "07700 900001"
    note = mobile.select_one("[data-edited-in-office365]")
    assert " ".join(note.get_text().split()) == (
        "Outlook changed this since the last sync, which wrote 07700 900001; "
        "Central says 07700 900001."
    )
    # Outlook's value is text, never markup.
    assert mobile.select_one(".before b") is None
    assert mobile.select_one(".before").get_text().startswith("<b>07700 900999</b>")
    city = row.select_one('tr[data-field="homeAddress.city"]')
    assert city.select_one("[data-edited-in-office365]") is None
    kept = row.select_one('tr[data-field="businessHomePage"][data-kept]')
    assert "kept by the field's policy" in kept.get_text()


def test_an_unchanged_record_says_which_outlook_edits_were_kept(signed_in: Web) -> None:
    put_plan(signed_in, edited_report())
    page = signed_in.soup("/?state=unchanged")
    (row,) = page.select("table.plan > tbody > tr")
    assert row.select_one("[data-edited-in-office365]").get_text() == "Outlook's edits kept: Mobile"
