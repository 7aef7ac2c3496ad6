"""The homepage: tabs with counts, excluded count, reasons in words, escaping, diffs, paging."""

from __future__ import annotations

from datetime import UTC, datetime

from central365.core.model import Plan, PlanItem, Reason, State
from central365.engine.service import FolderRef, PlanReport
from tests.web.conftest import FOLDER, MAILBOX, Web


def test_tabs_show_the_count_of_every_state_and_the_excluded(signed_in: Web) -> None:
    page = signed_in.soup("/")
    counts = {c["data-count"]: c.get_text(strip=True) for c in page.select("[data-count]")}
    assert counts == {
        "new": "2",
        "update": "1",
        "unchanged": "1",
        "non_actionable": "2",
        "orphans": "0",
        "excluded": "2",
    }
    labels = [t.select_one(".tab-label").get_text(strip=True) for t in page.select(".tabs a")]
    assert labels == [
        "New to Office 365",
        "Requires update",
        "No updates",
        "Non-actionable",
        "Only in Office 365",
    ]
    assert "2 Central records were excluded as not active." in page.select_one(
        ".excluded"
    ).get_text(" ", strip=True)
    assert page.select_one("[data-folder]").get_text() == FOLDER
    assert page.select_one("[data-mailbox]").get_text() == MAILBOX
    assert page.select_one("[data-made-at]") is not None
    assert page.select_one("#plan-again") is not None


def test_new_tab_lists_records_with_labelled_checkboxes_and_escapes_names(signed_in: Web) -> None:
    response = signed_in.client.get("/?state=new")
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    page = signed_in.soup("/?state=new")
    rows = page.select("table.plan tbody tr")
    assert [r.select_one(".name").get_text() for r in rows] == [
        "Ada Lovelace",
        "<script>alert(1)</script> Hacker",
    ]
    boxes = page.select('input[name="key"]')
    assert [b["aria-label"] for b in boxes] == [
        "Select Ada Lovelace",
        "Select <script>alert(1)</script> Hacker",
    ]
    assert page.select_one("#all-in-state")["value"] == "new"
    assert page.select_one("#sync-selected").get_text(strip=True) == "Synchronise selected"


def test_non_actionable_rows_give_their_reasons_in_words_and_have_no_checkbox(
    signed_in: Web,
) -> None:
    page = signed_in.soup("/?state=non_actionable")
    reasons = {
        row.select_one(".name").get_text(): [li.get_text() for li in row.select(".reasons li")]
        for row in page.select("table.plan tbody tr")
    }
    assert reasons == {
        "Dan Deceased": ["marked as deceased in the first or last name"],
        "Eve Broken": ["email address is not valid"],
    }
    assert page.select('input[name="key"]') == []
    assert page.select_one("#sync-form") is None


def test_update_rows_expand_to_the_field_by_field_change(signed_in: Web) -> None:
    page = signed_in.soup("/?state=update")
    (row,) = page.select("table.plan > tbody > tr")
    details = row.select_one("details")
    assert details.select_one("summary").get_text(strip=True) == "1 field change"
    (change,) = details.select("tr[data-field]")
    assert change["data-field"] == "mobilePhone"
    assert change.select_one(".before").get_text() == "07700 900001"
    assert change.select_one(".after").get_text() == "07700 900002"


def test_unknown_state_shows_the_first_tab(signed_in: Web) -> None:
    page = signed_in.soup("/?state=bogus")
    assert page.select_one('.tabs a[aria-current="page"]')["data-state"] == "new"


def big_report(size: int) -> PlanReport:
    items = tuple(
        PlanItem(
            key=str(n),
            state=State.NEW if n % 4 else State.NON_ACTIONABLE,
            name=f"Person {n:06d}",
            email=f"person{n}@example.com",
            reasons=() if n % 4 else (Reason.MISSING_NAME,),
        )
        for n in range(size)
    )
    plan = Plan(items=items, excluded=7)
    return PlanReport(MAILBOX, FolderRef(FOLDER, "f1", True), plan, datetime.now(UTC))


def put_plan(web: Web, report: PlanReport) -> None:
    """Put Alice's plan in the cache under the key her visits use (per person, delegated)."""
    from central365.web.plans import plan_key
    from central365.wiring.settings import target_of

    runtime = web.runtime
    user = runtime.users.upsert("oid-alice", "tenant-1", "Alice Admin", MAILBOX)
    key = plan_key(target_of(runtime.load_app_settings(), user).key, f"user:{user.id}")
    runtime.plans.put(key, report)


def test_a_page_of_a_100000_record_plan(signed_in: Web) -> None:
    put_plan(signed_in, big_report(100_000))
    page = signed_in.soup("/?state=new&page=3")
    assert page.select_one('[data-count="new"]').get_text() == "75,000"
    assert page.select_one('[data-count="excluded"]').get_text() == "7"
    names = [n.get_text() for n in page.select("table.plan tbody .name")]
    # Page 3 of the NEW records (every n not divisible by 4), 50 a page.
    expected = [f"Person {n:06d}" for n in range(100_000) if n % 4][100:150]
    assert names == expected
    pager = page.select_one("[data-pages]")
    assert (pager["data-page"], pager["data-pages"]) == ("3", "1500")
    assert page.select_one("#page-next")["href"] == "/?state=new&page=4"


def test_search_by_name_or_email_pages_through_the_matches(signed_in: Web) -> None:
    put_plan(signed_in, big_report(100_000))
    page = signed_in.soup("/?state=new&q=PERSON 0999")
    names = [n.get_text() for n in page.select("table.plan tbody .name")]
    assert names == [f"Person {n:06d}" for n in range(99_900, 100_000) if n % 4][:50]
    assert page.select_one("[data-matching]")["data-matching"] == "75"
    assert page.select_one("#page-next")["href"] == "/?state=new&q=PERSON%200999&page=2"
    by_email = signed_in.soup("/?state=new&q=person12345@example")
    assert [n.get_text() for n in by_email.select("table.plan tbody .name")] == ["Person 012345"]
    nothing = signed_in.soup("/?state=new&q=nobody")
    assert "No record matches" in nothing.select_one(".range").get_text()


def test_plan_again_replans(signed_in: Web, world) -> None:  # type: ignore[no-untyped-def]
    put_plan(signed_in, big_report(10))
    assert signed_in.soup("/").select_one('[data-count="new"]').get_text() == "7"
    token = signed_in.csrf()
    response = signed_in.client.post("/plan", data={"csrf_token": token, "state": "update"})
    assert response.status_code == 303
    assert response.headers["location"] == "/?state=update"
    assert signed_in.soup("/").select_one('[data-count="new"]').get_text() == "2"
