"""Small holes: huge integers, sign-in that must not sign out, tenants, error pages that help."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from central365.cli import app as cli_app
from central365.core.errors import ConfigError
from central365.web import create_app
from central365.web.failures import SOURCE_UNREADABLE
from central365.web.sessions import COOKIE_NAME
from tests.web.conftest import Web, World, serve, signed_in_as

HUGE = str(10**25)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/history/{HUGE}", 404),
        (f"/runs/{HUGE}", 404),
        ("/history/0", 404),
        (f"/api/runs/{HUGE}", 404),
        (f"/history?page={HUGE}", 400),
        (f"/?page={HUGE}", 400),
        (f"/history/1?page={HUGE}", 400),
        (f"/api/plan?page={HUGE}", 422),
        (f"/api/runs/1?offset={HUGE}", 422),
        ("/api/runs/1?offset=-1", 422),
    ],
)
def test_integers_out_of_range_answer_404_or_422_never_500(
    signed_in: Web, path: str, status: int
) -> None:
    response = signed_in.client.get(path)
    assert response.status_code == status, response.text[:500]


def test_the_largest_accepted_integers_do_not_overflow(signed_in: Web) -> None:
    big = 2**31 - 1
    assert signed_in.client.get(f"/history/{big}").status_code == 404  # no such run
    assert signed_in.client.get(f"/history?page={big}").status_code == 200
    assert signed_in.client.get(f"/?page={big}").status_code == 200


def test_opening_the_sign_in_does_not_end_the_session(signed_in: Web) -> None:
    """A link or an image pointing at /auth/login must not sign anyone out."""
    before = signed_in.client.cookies[COOKIE_NAME]
    start = signed_in.client.get("/auth/login", params={"next": "/history"})
    assert start.status_code == 303
    assert "set-cookie" not in start.headers
    assert signed_in.client.cookies[COOKIE_NAME] == before
    assert signed_in.client.get("/").status_code == 200
    # A forged callback does not end it either.
    forged = signed_in.client.get("/auth/callback", params={"code": "bob", "state": "forged"})
    assert forged.status_code == 502
    page = signed_in.soup("/")
    assert page.select_one("[data-user]").get_text() == "Signed in as Alice Admin"


def test_signing_in_again_from_a_session_replaces_it(signed_in: Web) -> None:
    before = signed_in.client.cookies[COOKIE_NAME]
    signed_in_as(signed_in, "bob")
    assert signed_in.client.cookies[COOKIE_NAME] != before
    assert signed_in.soup("/").select_one("[data-user]").get_text() == "Signed in as Bob Builder"


def test_get_sign_out_only_asks_for_confirmation(signed_in: Web) -> None:
    page = signed_in.soup("/auth/logout")
    assert page.select_one("main form[action='/auth/logout'][method='post']") is not None
    assert page.select_one('nav a[data-nav="settings"]') is not None  # Alice is an admin
    assert signed_in.client.get("/").status_code == 200


def test_a_person_of_another_tenant_cannot_sign_in(web: Web) -> None:
    response = web.sign_in("mallory")
    assert response.status_code == 403
    assert "another organisation" in response.text
    assert web.client.get("/").status_code == 303  # not signed in
    assert web.runtime.users.get(1) is None  # nothing of theirs was stored


def test_an_allow_list_admits_its_tenants_only(world: World) -> None:
    world.settings = world.settings.model_copy(
        update={"tenant_id": None, "tenants": ("tenant-1", "tenant-evil")}
    )
    for web in serve(world.app()):
        assert web.sign_in("mallory").status_code == 303
        assert web.client.get("/history").status_code == 200


def test_a_session_of_a_tenant_no_longer_served_ends(world: World) -> None:
    world.settings = world.settings.model_copy(
        update={"tenant_id": None, "tenants": ("tenant-1", "tenant-evil")}
    )
    for web in serve(world.app()):
        signed_in_as(web, "mallory")
        cookie = web.client.cookies[COOKIE_NAME]
    world.settings = world.settings.model_copy(update={"tenant_id": "tenant-1", "tenants": ()})
    for web in serve(world.app()):  # the same application database, restarted
        web.client.cookies.set(COOKIE_NAME, cookie)
        response = web.client.get("/history")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/auth/login")


@pytest.mark.parametrize("tenant", [None, "organizations", "common"])
def test_the_app_refuses_to_start_without_a_fixed_tenant(world: World, tenant: str | None) -> None:
    world.settings = world.settings.model_copy(update={"tenant_id": tenant})
    with pytest.raises(ConfigError, match="CENTRAL365_TENANT_ID"):
        create_app(world.settings)


def test_serve_refuses_organizations_with_one_sentence() -> None:
    result = CliRunner().invoke(
        cli_app,
        ["serve", "--port", "1"],
        env={
            "CENTRAL365_TENANT_ID": "organizations",
            "CENTRAL365_CLIENT_ID": "client-id",
            "CENTRAL365_CLIENT_SECRET": "secret",
        },
    )
    assert result.exit_code != 0
    assert "must serve a fixed tenant" in result.output
    assert "CENTRAL365_TENANTS" in result.output
    assert "homepage on" not in result.output  # nothing announced that will not serve


# -- error pages ------------------------------------------------------------------------------


def break_central(world: World) -> None:
    (world.tmp / "central.csv").unlink()


def test_a_failing_homepage_offers_the_settings_to_an_admin_not_itself(
    signed_in: Web, world: World
) -> None:
    break_central(world)
    page = signed_in.soup("/", status=502)
    assert page.select_one('[data-error-link="home"]') is None
    assert page.select_one('[data-error-link="settings"]')["href"] == "/settings"
    assert page.select_one("[data-user]") is not None


def test_a_failing_homepage_offers_a_plain_user_neither_loop_nor_settings(
    web: Web, world: World
) -> None:
    signed_in_as(web, "bob")
    break_central(world)
    page = web.soup("/", status=502)
    assert page.select_one('[data-error-link="home"]') is None
    assert page.select_one('[data-error-link="settings"]') is None
    assert "Ask an administrator" in page.select_one("[data-error-next]").get_text()
    assert page.select_one("form[action='/auth/logout']") is not None


def test_an_unknown_page_keeps_the_navigation(signed_in: Web) -> None:
    page = signed_in.soup("/no-such-page", status=404)
    assert page.select_one("[data-user]").get_text() == "Signed in as Alice Admin"
    assert page.select_one('nav a[data-nav="settings"]') is not None
    assert page.select_one('[data-error-link="home"]')["href"] == "/"


def test_sign_in_not_set_up_speaks_of_the_connection_not_environment_variables(
    world: World,
) -> None:
    world.settings = world.settings.model_copy(update={"client_id": None, "client_secret": None})
    app = create_app(world.settings, graph_transport=world.graph)
    for web in serve(app):
        response = web.client.get("/auth/login")
        assert response.status_code == 409
        assert "application (client) id" in response.text
        assert "CENTRAL365_" not in response.text


def test_a_source_error_speaks_of_the_settings_page_to_an_admin_only(
    world: World, web: Web
) -> None:
    """Central's problems name its files and columns: for admins, in the form's words."""
    (world.tmp / "central.csv").unlink()
    admin = signed_in_as(web, "alice")
    page = admin.client.get("/")
    assert page.status_code == 502
    assert "the Central source on the Settings page" in page.text
    assert "CENTRAL365_" not in page.text
    assert "central.csv" in page.text  # an admin needs to know which file

    admin.client.post("/auth/logout", data={"csrf_token": admin.csrf("/history")})
    plain = signed_in_as(web, "pat")
    refused = plain.client.get("/")
    assert refused.status_code == 502
    assert "an administrator needs to check the Central source" in refused.text
    assert "central.csv" not in refused.text and "CENTRAL365_" not in refused.text
    api = plain.client.get("/api/plan")
    assert api.status_code == 502
    assert api.json() == {"error": SOURCE_UNREADABLE, "problems": []}
