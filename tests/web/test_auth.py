"""Sign-in is required everywhere; the session cookie; sign-out; security headers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from central365.web.security import CSP
from central365.web.sessions import COOKIE_NAME
from tests.web.conftest import Web, World

PAGES = ["/", "/?state=update", "/history", "/history/1", "/runs/1", "/settings"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_the_sign_in(web: Web, path: str) -> None:
    response = web.client.get(path)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/auth/login"
    assert parse_qs(location.query)["next"] == [path]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/plan"), ("POST", "/api/runs"), ("GET", "/api/runs/1"), ("POST", "/api/plan")],
)
def test_the_api_answers_401_json(web: Web, method: str, path: str) -> None:
    response = web.client.request(method, path, json={"keys": ["1"]})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"].startswith("Please sign in")


def test_posts_without_a_session_are_refused_before_anything_happens(web: Web) -> None:
    response = web.client.post("/runs", data={"key": "1"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login")
    assert web.runtime.runs.count() == 0


def test_sign_in_sets_an_httponly_lax_cookie_holding_only_a_random_id(web: Web) -> None:
    login = web.client.get("/auth/login", params={"next": "/history"})
    assert login.headers["location"].startswith("https://login.test/authorize?")
    state = parse_qs(urlsplit(login.headers["location"]).query)["state"][0]
    callback = web.client.get("/auth/callback", params={"code": "alice", "state": state})
    assert callback.status_code == 303
    assert callback.headers["location"] == "/history"
    cookie = callback.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # http public URL
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) >= 40 and "alice" not in value.casefold()
    page = web.soup("/history")
    assert page.select_one("[data-user]").get_text() == "Signed in as Alice Admin"
    # The token cache is kept server-side, encrypted, never in a page.
    assert "REFRESH-TOKEN-SECRET" not in web.client.get("/").text


def test_the_session_is_replaced_at_sign_in(web: Web) -> None:
    web.client.get("/auth/login")
    before = web.client.cookies[COOKIE_NAME]
    web.sign_in("alice")
    assert web.client.cookies[COOKIE_NAME] != before


def test_a_callback_with_a_wrong_state_is_refused(web: Web) -> None:
    web.client.get("/auth/login")
    response = web.client.get("/auth/callback", params={"code": "alice", "state": "forged"})
    assert response.status_code == 502
    assert "does not belong to this sign-in" in response.text
    assert web.client.get("/").status_code == 303  # still signed out


def test_a_callback_without_a_sign_in_in_progress_is_refused(web: Web) -> None:
    response = web.client.get("/auth/callback", params={"code": "alice", "state": "x"})
    assert response.status_code == 502
    assert "sign in again" in response.text


def test_next_never_leaves_the_site(web: Web) -> None:
    response = web.sign_in("alice", next_path="//evil.test/")
    assert response.headers["location"] == "/"


def test_sign_out_needs_the_csrf_token_then_forgets_the_session(signed_in: Web) -> None:
    assert signed_in.client.post("/auth/logout").status_code == 403
    confirm = signed_in.soup("/auth/logout")
    token = confirm.select_one('main input[name="csrf_token"]')["value"]
    response = signed_in.client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/signed-out"
    assert signed_in.client.get("/").status_code == 303
    user = signed_in.runtime.users.upsert(
        "oid-alice", "tenant-1", "Alice Admin", "alice@contoso.test"
    )
    assert signed_in.runtime.users.load_token_cache(user.id) is None
    page = signed_in.soup("/auth/signed-out")
    assert page.select_one("#sign-in")["href"] == "/auth/login"


def test_an_expired_microsoft_sign_in_sends_the_person_to_sign_in_again(
    signed_in: Web, world: World
) -> None:
    world.identity.expired = True
    response = signed_in.client.get("/?state=update")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login?next=")


def test_every_answer_carries_the_security_headers(signed_in: Web) -> None:
    for path in ["/", "/auth/signed-out", "/static/app.js", "/api/openapi.json", "/nope"]:
        headers = signed_in.client.get(path).headers
        assert headers["content-security-policy"] == CSP
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(signed_in: Web) -> None:
    page = signed_in.soup("/")
    assert all(script.get("src", "").startswith("/static/") for script in page.select("script"))
    assert all(not script.string for script in page.select("script"))
    assert page.select("style") == [] and page.select("[style]") == []
    assert page.select("[onclick], [onchange], [onsubmit]") == []


def test_docs_pages_loading_cdn_assets_are_off(web: Web) -> None:
    assert web.client.get("/docs").status_code in (303, 404)
    assert web.client.get("/redoc").status_code in (303, 404)
    schema = web.client.get("/api/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/plan",
        "/api/plan/progress",
        "/api/runs",
        "/api/runs/{run_id}",
        "/api/runs/{run_id}/undo",
    }


def test_admin_consent_comes_back_to_the_settings(signed_in: Web) -> None:
    response = signed_in.client.get(
        "/auth/callback", params={"admin_consent": "True", "tenant": "tenant-1"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/settings?consented=1"
    refused = signed_in.client.get(
        "/auth/callback", params={"admin_consent": "False", "error_description": "declined"}
    )
    assert refused.status_code == 502
    assert "did not grant consent: declined" in refused.text
    # Microsoft's v2 endpoint says admin_consent=True on a refusal too: the error decides.
    cancelled = signed_in.client.get(
        "/auth/callback",
        params={
            "admin_consent": "True",
            "error": "consent_required",
            "error_description": "AADSTS65004: User declined to consent to access the app.",
        },
    )
    assert cancelled.status_code == 502
    assert "did not grant consent: AADSTS65004: User declined to consent" in cancelled.text
