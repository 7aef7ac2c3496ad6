"""Settings: validated as a whole, messages by their fields, secrets never shown, Scopes panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from central365.sources import write_csv
from tests.web.conftest import FOLDER, MAILBOX, RECORDS, Web, World

SECRET = "S3cr3t-Value-That-Must-Never-Show"
DB_HOST = "db.example.com"


def with_sources(world: World) -> World:
    """The web tests' world, with an import folder and Central's database host allowed."""
    import_dir = world.tmp / "import"
    import_dir.mkdir()
    world.settings = world.settings.model_copy(
        update={"import_dir": import_dir, "central_hosts": (DB_HOST, "127.0.0.1", "localhost")}
    )
    return world


@pytest.fixture
def world(world: World) -> World:
    return with_sources(world)


def import_dir(world: World) -> Path:
    assert world.settings.import_dir is not None
    return world.settings.import_dir


def form_of(web: Web) -> dict[str, Any]:
    """The settings form as the page fills it in (what a browser would post back)."""
    page = web.soup("/settings")
    form = page.select_one("form.settings")
    values: dict[str, Any] = {}
    for field in form.select("input, select, textarea"):
        name = field.get("name")
        if not name or field.get("type") == "submit":
            continue
        if field.name == "select":
            chosen = field.select_one("option[selected]") or field.select_one("option")
            values[name] = chosen["value"]
        elif field.get("type") in ("radio", "checkbox"):
            if field.has_attr("checked"):
                values[name] = field.get("value", "on")
        elif field.name == "textarea":
            values[name] = field.get_text()
        else:
            values[name] = field.get("value", "")
    return values


def post(web: Web, **changes: Any) -> Any:
    values = {**form_of(web), "action": "save", **changes}
    return web.client.post("/settings", data=values)


def test_the_page_shows_the_stored_settings_and_the_mailbox_folders(
    signed_in: Web, world: World
) -> None:
    page = signed_in.soup("/settings")
    options = [o.get_text() for o in page.select("#folder_choice option")]
    assert FOLDER in options and "A new folder, named below" in options
    assert page.select_one("#folder_choice option[selected]")["value"] == FOLDER
    assert page.select_one("#central_url")["value"] == str(world.settings.central)
    assert page.select_one("#client_id")["value"] == "client-id"
    assert "Outlook mobile, the new Outlook or Teams" in page.select_one("#folder-hint").get_text()


def test_a_valid_save_is_stored_and_replans(signed_in: Web, world: World) -> None:
    signed_in.soup("/")  # plan once
    response = post(signed_in, central_table="people", client_secret=SECRET)
    assert response.status_code == 303 and response.headers["location"] == "/settings?saved=1"
    stored = signed_in.runtime.load_app_settings()
    assert stored.central_table == "people" and stored.has_client_secret
    assert stored.updated_by == f"Alice Admin ({MAILBOX})"
    assert signed_in.runtime.app_settings.client_secret() == SECRET
    page = signed_in.soup("/settings?saved=1")
    assert page.select_one("[data-saved]") is not None


def test_a_saved_secret_is_never_rendered(signed_in: Web) -> None:
    post(signed_in, client_secret=SECRET)
    for path in ["/settings", "/", "/history"]:
        assert SECRET not in signed_in.client.get(path).text
    page = signed_in.soup("/settings")
    assert page.select_one("#client_secret")["value"] == ""
    assert page.select_one("[data-has-secret]")["data-has-secret"] == "true"
    # A refused save does not echo a typed secret either.
    refused = post(signed_in, client_secret=SECRET + "2", client_id="")
    assert refused.status_code == 400
    assert SECRET not in refused.text


def test_every_bad_value_gets_its_message_next_to_its_field(signed_in: Web) -> None:
    response = post(
        signed_in,
        central_url="central.csv",
        client_id="",
        auth_mode="app_only",
        target_mailbox="",
        map_email="Mail",
        map_first_name="mail",
    )
    assert response.status_code == 400
    page = BeautifulSoup(response.text, "html.parser")
    errors = {e["data-error-for"]: e.get_text() for e in page.select("[data-error-for]")}
    # The tenant is the start-up setting, no longer a field (see test_the_tenant_is_read_only).
    assert set(errors) == {"central_url", "client_id", "target_mailbox", "map_email"}
    assert "neither csv:PATH nor a database URL" in errors["central_url"]
    assert "App-only access writes into a named mailbox" in errors["target_mailbox"]
    # Each message is inside its field's block and described by it.
    field = page.select_one("#client_id")
    assert field["aria-invalid"] == "true"
    assert "client_id-error" in field["aria-describedby"]
    assert (
        field.find_parent(class_="field").select_one("[data-error-for]")["data-error-for"]
        == "client_id"
    )
    # Nothing was stored; the typed values are shown again.
    assert page.select_one("#central_url")["value"] == "central.csv"
    assert signed_in.runtime.load_app_settings().central_url != "central.csv"


def test_a_new_folder_is_created_at_the_top_level(signed_in: Web, world: World) -> None:
    response = post(signed_in, folder_choice="__new__", new_folder_name="Central Two")
    assert response.status_code == 303
    assert "Central Two" in [f["displayName"] for f in world.store.list_folders(MAILBOX)]
    assert signed_in.runtime.load_app_settings().folder_name == "Central Two"
    home = signed_in.soup("/")
    assert home.select_one("[data-folder]").get_text() == "Central Two"
    assert home.select_one('[data-count="new"]').get_text() == "4"


def test_test_connection_reports_the_count_and_missing_columns(
    signed_in: Web, world: World
) -> None:
    values = {**form_of(signed_in), "action": "test"}
    ok = BeautifulSoup(signed_in.client.post("/settings", data=values).text, "html.parser")
    result = ok.select_one("#test-result")
    assert result["data-ok"] == "true"
    assert result.select_one("[data-records]")["data-records"] == str(len(RECORDS))
    broken = import_dir(world) / "broken.csv"  # the web reads CSV only from the import folder
    write_csv(broken, [{"id": "1", "status": "active"}], columns=("id", "status", "first_name"))
    values = {**values, "central_url": f"csv:{broken}", "map_email": "EmailAddress"}
    bad = BeautifulSoup(signed_in.client.post("/settings", data=values).text, "html.parser")
    result = bad.select_one("#test-result")
    assert result["data-ok"] == "false"
    text = result.get_text(" ", strip=True)
    assert "'last_name'" in text and "'EmailAddress' (mapped from 'email')" in text
    assert signed_in.runtime.load_app_settings().central_url == str(world.settings.central)


def test_the_scopes_panel_compares_needed_and_granted(signed_in: Web, world: World) -> None:
    page = signed_in.soup("/settings")
    rows = {r["data-scope"]: r["data-granted"] for r in page.select("#scopes tr[data-scope]")}
    assert rows == {
        "Contacts.ReadWrite": "yes",
        "User.Read": "yes",
        "openid": "unknown",
        "profile": "unknown",
        "offline_access": "unknown",
    }
    assert page.select_one("#admin-consent") is None
    assert "Contacts.ReadWrite covers everything" in page.select_one("#scopes-note").get_text()
    assert "Mail.ReadWrite" in page.select_one("#scopes-note").get_text()
    world.identity.granted = frozenset({"User.Read"})
    page = signed_in.soup("/settings")
    assert page.select_one('tr[data-scope="Contacts.ReadWrite"]')["data-granted"] == "no"
    link = page.select_one("#admin-consent")["href"]
    assert link == (
        "https://login.microsoftonline.com/tenant-1/v2.0/adminconsent?client_id=client-id"
        "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
        "&redirect_uri=http%3A%2F%2Fcentral365.test%2Fauth%2Fcallback"
    )


def test_app_only_mode_plans_the_target_mailbox_with_the_app_token(
    signed_in: Web, world: World
) -> None:
    response = post(
        signed_in,
        auth_mode="app_only",
        target_mailbox="shared@contoso.test",
        tenant_id="contoso.onmicrosoft.com",
    )
    assert response.status_code == 303, response.text
    page = signed_in.soup("/")
    assert page.select_one("[data-mailbox]").get_text() == "shared@contoso.test"
    scopes = signed_in.soup("/settings")
    rows = {r["data-scope"]: r["data-granted"] for r in scopes.select("#scopes tr[data-scope]")}
    assert rows == {"Contacts.ReadWrite": "yes"}


def test_a_database_password_in_the_central_url_is_never_rendered(
    signed_in: Web, world: World
) -> None:
    url = "postgresql+psycopg://central:Db-Pa55word@db.example.com/crm"
    assert post(signed_in, central_url=url).status_code == 303
    page = signed_in.client.get("/settings").text
    assert "Db-Pa55word" not in page
    shown = BeautifulSoup(page, "html.parser").select_one("#central_url")["value"]
    assert shown == "postgresql+psycopg://central:***@db.example.com/crm"
    # Saving the page as shown keeps the stored password; typing a new URL replaces it.
    assert post(signed_in, central_table="people").status_code == 303
    assert signed_in.runtime.load_app_settings().central_url == url
    other = import_dir(world) / "x.csv"  # the web reads CSV only from the import folder
    write_csv(other, RECORDS)
    assert post(signed_in, central_url=f"csv:{other}").status_code == 303
    assert signed_in.runtime.load_app_settings().central_url == f"csv:{other.resolve()}"
