"""The Settings page's write policies per field and the deleted-contacts policy: shown, checked,
stored in the app settings, used by the homepage's plans (admins only)."""

from __future__ import annotations

import pytest

from central365.core.policy import DeletedContacts, FieldPolicy
from tests.web.conftest import MAILBOX, Web, World, signed_in_as
from tests.web.test_settings import form_of, with_sources


@pytest.fixture
def world(world: World) -> World:
    return with_sources(world)


def post(web: Web, **changes: str) -> object:
    values = {**form_of(web), "action": "save", **changes}
    return web.client.post("/settings", data=values)


def bob_row(web: Web, state: str) -> list[str]:
    page = web.soup(f"/?state={state}")
    return [r["data-key"] for r in page.select("table.plan > tbody > tr")]


def test_the_table_shows_every_field_with_its_five_policies(signed_in: Web) -> None:
    page = signed_in.soup("/settings")
    rows = page.select("#write-policies tr[data-policy-field]")
    fields = [r["data-policy-field"] for r in rows]
    assert fields[:3] == ["title", "givenName", "surname"] and "mobilePhone" in fields
    mobile = page.select_one('tr[data-policy-field="mobilePhone"] select')
    assert [o["value"] for o in mobile.select("option")] == [p.value for p in FieldPolicy]
    assert mobile.select_one("option[selected]")["value"] == "overwrite"
    # The email is how contacts are matched: it is never offered "ignore".
    email = page.select_one('tr[data-policy-field="emailAddresses[0]"] select')
    assert "ignore" not in [o["value"] for o in email.select("option")]
    label = page.select_one(f'label[for="{mobile["id"]}"]').get_text(strip=True)
    assert label == "Mobile"
    chosen = page.select_one("#deleted_contacts option[selected]")
    assert chosen["value"] == "recreate"


def test_a_saved_policy_is_stored_and_used_by_the_homepage_s_plan(
    signed_in: Web, world: World
) -> None:
    assert "2" in bob_row(signed_in, "update")  # Bob's mobile differs: an update
    response = post(
        signed_in,
        **{"policy_mobilePhone": "ignore", "deleted_contacts": "respect_deletes"},
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    stored = signed_in.runtime.load_app_settings()
    assert stored.field_policies == {"mobilePhone": FieldPolicy.IGNORE}
    assert stored.deleted_contacts is DeletedContacts.RESPECT_DELETES
    page = signed_in.soup("/settings")
    assert page.select_one('tr[data-policy-field="mobilePhone"] option[selected]')["value"] == (
        "ignore"
    )
    assert page.select_one("#deleted_contacts option[selected]")["value"] == "respect_deletes"
    # The mobile is no longer synced: Bob has nothing to update.
    assert "2" not in bob_row(signed_in, "update")
    assert "2" in bob_row(signed_in, "unchanged")

    # Back to the start-up values: stored as "none" again (the start-up settings apply).
    post(signed_in, **{"policy_mobilePhone": "overwrite", "deleted_contacts": "recreate"})
    stored = signed_in.runtime.load_app_settings()
    assert (stored.field_policies, stored.deleted_contacts) == (None, None)


def test_a_value_the_page_did_not_offer_is_refused_beside_its_field(signed_in: Web) -> None:
    response = post(
        signed_in,
        **{
            "policy_emailAddresses[0]": "ignore",
            "policy_mobilePhone": "shout",
            "deleted_contacts": "x",
        },
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    from bs4 import BeautifulSoup

    page = BeautifulSoup(response.text, "html.parser")  # type: ignore[attr-defined]
    errors = {e["data-error-for"]: e.get_text() for e in page.select("[data-error-for]")}
    assert "cannot be ignored" in errors["policy_emailAddresses[0]"]
    assert errors["policy_mobilePhone"] == "Choose one of the policies offered."
    assert errors["deleted_contacts"] == "Choose recreate or respect the delete."
    assert signed_in.runtime.load_app_settings().field_policies is None


def test_only_an_admin_may_change_them(web: Web) -> None:
    signed_in_as(web, "bob")
    assert web.client.get("/settings").status_code == 403
    refused = web.client.post("/settings", data={"action": "save", "policy_mobilePhone": "ignore"})
    assert refused.status_code == 403
    assert web.runtime.load_app_settings().field_policies is None
    assert MAILBOX  # the admin's mailbox is untouched
