"""The Guide page: taken from the code's own tables, and the homepage's links land on it."""

from __future__ import annotations

from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from central365.core.mapping import FIELD_LABELS
from central365.core.model import REASON_TEXT, Reason
from central365.web.guide import (
    REASON_HELP,
    build_guide,
    field_anchor,
    reason_anchor,
    synced_fields,
)
from central365.web.scopes import DELEGATED_NEEDS, NOT_NEEDED
from tests.web.conftest import Web


def guide_ids(web: Web) -> set[str]:
    soup = web.soup("/guide")
    return {str(node["id"]) for node in soup.select("[id]")}


def test_the_guide_has_a_place_for_every_reason_and_every_synced_field(signed_in: Web) -> None:
    soup = signed_in.soup("/guide")
    for reason in Reason:
        place = soup.select_one(f"#reason-{reason.value}")
        assert place is not None, reason
        assert REASON_TEXT[reason][1:] in place.get_text()
        assert REASON_HELP[reason] in place.get_text(" ", strip=True)
    for field, label in FIELD_LABELS.items():
        row = soup.select_one(f'[id="{field_anchor(field)}"]')
        assert row is not None, field
        assert row.select_one("th") is not None and row.select_one("th").get_text() == label
        assert row["data-field"] == field


def test_the_guide_shows_what_the_code_does(signed_in: Web) -> None:
    soup = signed_in.soup("/guide")
    assert soup.select_one("[data-street]").get_text() == "Flat 1, King's Court, 10 Long Street"
    assert soup.select_one("[data-street-blank]").get_text() == "Flat 1, 10 Long Street"
    street = soup.select_one('[data-field="homeAddress.street"]').get_text(" ", strip=True)
    assert "home_address_line1 , home_address_line2 , home_address_line3" in street
    scopes = [str(row["data-scope"]) for row in soup.select(".guide-scopes [data-scope]")]
    assert scopes[: len(DELEGATED_NEEDS)] == [name for name, _ in DELEGATED_NEEDS]
    text = soup.get_text(" ", strip=True)
    assert all(name in text for name in NOT_NEEDED)
    for heading in ("Filtering", "Matching", "Validation", "Synchronisation", "Limitations"):
        assert any(heading in h.get_text() for h in soup.select("h2")), heading
    # The status examples are decided by the planner's own rule.
    statuses = [
        tuple(td.get_text() for td in row.select("td"))
        for row in soup.select('[data-examples="status"] tbody tr')
    ]
    assert ("“ active ”", "Yes") in statuses and ("“Inactive”", "No: excluded") in statuses


def test_every_reason_has_help_and_every_field_a_central_column() -> None:
    assert set(REASON_HELP) == set(Reason)
    columns = {f.field: f.columns for f in synced_fields()}
    assert list(columns) == list(FIELD_LABELS)
    assert columns["givenName"] == ("first_name",)
    assert columns["emailAddresses[0]"] == ("email",)
    assert columns["businessPhones[0]"] == ("telephone",)
    assert columns["businessAddress.postalCode"] == ("business_postcode",)
    assert all(columns.values())
    assert build_guide().not_synced  # Outlook's own fields are listed as never written


def test_anchors_need_no_escaping() -> None:
    assert field_anchor("homeAddress.street") == "field-homeAddress-street"
    assert field_anchor("emailAddresses[0]") == "field-emailAddresses-0"
    assert reason_anchor(Reason.DUPLICATE_EMAIL) == "reason-duplicate_email"
    assert reason_anchor("deceased") == "reason-deceased"


def test_the_guide_needs_a_sign_in_and_is_in_the_navigation(web: Web) -> None:
    anonymous = web.client.get("/guide")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/auth/login")
    web.sign_in("bob")  # no role: the Guide is for everyone
    soup = web.soup("/guide")
    link = soup.select_one('nav[aria-label="Main"] a[href="/guide"]')
    assert link is not None and link.get("aria-current") == "page"
    home = web.soup("/")
    assert home.select_one('nav[aria-label="Main"] a[href="/guide"]') is not None


def links_to_the_guide(soup: BeautifulSoup, selector: str) -> list[str]:
    return [str(a["href"]) for a in soup.select(f'{selector} a[href^="/guide#"]')]


def test_the_homepage_reasons_link_to_their_place_in_the_guide(signed_in: Web) -> None:
    soup = signed_in.soup("/?state=non_actionable")
    reasons = soup.select("td.reasons li[data-reason]")
    assert {str(li["data-reason"]) for li in reasons} == {"deceased", "invalid_email"}
    ids = guide_ids(signed_in)
    for li in reasons:
        (link,) = li.select("a")
        assert link["href"] == f"/guide#reason-{li['data-reason']}"
        assert urlsplit(str(link["href"])).fragment in ids
        assert link.get_text() == REASON_TEXT[Reason(str(li["data-reason"]))]


def test_the_homepage_field_labels_link_to_their_place_in_the_guide(signed_in: Web) -> None:
    soup = signed_in.soup("/?state=update")
    rows = soup.select("table.diff tr[data-field]")
    assert [str(row["data-field"]) for row in rows] == ["mobilePhone"]
    ids = guide_ids(signed_in)
    hrefs = links_to_the_guide(soup, "table.diff")
    assert hrefs == ["/guide#field-mobilePhone"]
    assert all(urlsplit(href).fragment in ids for href in hrefs)
