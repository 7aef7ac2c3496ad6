"""The production sign-in path: `MsalIdentity` (real msal) against the sandbox's identity platform.

The sandbox runs on a real port over TLS with its local CA; the app is built without an injected
identity, so it makes its own `MsalIdentity` from the stored settings, exactly as in production.
The browser's part (the authority's sign-in page) is played by an httpx client.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msal
import pytest
from bs4 import BeautifulSoup
from pydantic import SecretStr

from central365.config import Settings
from central365.graph.auth import msal_app_options, trusting_session
from central365.mailstore.store import seed_folder
from central365.sandbox.identity import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID
from central365.sandbox.server import SandboxServer
from central365.sources import write_csv
from central365.web import create_app
from central365.web.identity import MsalIdentity
from central365.wiring.connection import SignInMode
from tests.web.conftest import FOLDER, RECORDS, Web, folder_contacts, serve

pytestmark = pytest.mark.e2e

DEMO = "demo@contoso.test"
PUBLIC_URL = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tls=True, default_mailbox=DEMO) as server:
        seed_folder(server.store, DEMO, FOLDER, folder_contacts())
        yield server


def pick_user(sandbox: SandboxServer, auth_uri: str, username: str) -> dict[str, str]:
    """Do what the person does on the authority's page; return the redirect's query."""
    tls = ssl.create_default_context(cafile=str(sandbox.ca_path))
    with httpx.Client(verify=tls, timeout=30) as browser:
        page = browser.get(auth_uri)
        assert page.status_code == 200, page.text
        soup = BeautifulSoup(page.text, "html.parser")
        for form in soup.select("form"):
            if username in form.get_text() or any(
                username == i.get("value") for i in form.select("input")
            ):
                fields = {i["name"]: i.get("value", "") for i in form.select("input[name]")}
                button = form.select_one("button[name]")
                assert button is not None
                fields[button["name"]] = button["value"]
                action = httpx.URL(str(page.url)).join(form["action"])
                answer = browser.post(action, data=fields)
                assert answer.status_code in (302, 303), answer.text
                location = urlsplit(answer.headers["location"])
                assert f"{location.scheme}://{location.netloc}{location.path}" == (
                    f"{PUBLIC_URL}/auth/callback"
                )
                return {k: v[0] for k, v in parse_qs(location.query).items()}
    raise AssertionError(f"no sign-in form for {username}")


def identity(sandbox: SandboxServer) -> MsalIdentity:
    return MsalIdentity(
        client_id=DEFAULT_CLIENT_ID,
        client_credential=DEFAULT_CLIENT_SECRET,
        tenant=DEFAULT_TENANT_ID,
        authority_host=sandbox.root_url,
        ca_bundle=sandbox.ca_path,
    )


def homepage_settings(sandbox: SandboxServer, tmp_path: Path, **extra: Any) -> Settings:
    """The homepage's start-up settings against this sandbox, over a small Central CSV."""
    central = tmp_path / "central.csv"
    write_csv(central, RECORDS)
    return Settings(
        central=f"csv:{central}",
        folder=FOLDER,
        tenant_id=DEFAULT_TENANT_ID,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
        authority_host=sandbox.root_url,
        graph_url=sandbox.url,
        ca_bundle=sandbox.ca_path,
        data_dir=tmp_path / "data",
        public_url=PUBLIC_URL,
        **extra,
    )


def test_msal_identity_signs_in_refreshes_and_gets_app_tokens(sandbox: SandboxServer) -> None:
    client = identity(sandbox)
    start = client.begin_sign_in(f"{PUBLIC_URL}/auth/callback")
    assert "code_challenge=" in start.auth_uri  # PKCE
    response = pick_user(sandbox, start.auth_uri, "Demo User")
    signed_in = client.complete_sign_in(start.flow, response)
    assert signed_in.username == DEMO
    assert {"Contacts.ReadWrite", "User.Read"} <= {s.split("/")[-1] for s in signed_in.granted}
    token = client.user_token(signed_in.token_cache, DEMO)
    assert token.token and "Contacts.ReadWrite" in token.granted
    refreshed = client.user_token(signed_in.token_cache, DEMO, force_refresh=True)
    assert refreshed.token != token.token and refreshed.token_cache is not None
    app = client.app_token()
    assert "Contacts.ReadWrite" in app.granted
    assert "secret" not in repr(client).casefold() and token.token not in repr(token)


def test_the_homepage_signs_in_through_msal_and_plans_with_the_delegated_token(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    settings = homepage_settings(sandbox, tmp_path)
    for web in serve(create_app(settings)):
        sign_in(web, sandbox, "Demo User")
        page = web.soup("/")
        assert page.select_one("[data-mailbox]").get_text() == DEMO
        # Demo User holds Central365.Admin: the ID token's `roles`, kept in the session.
        assert page.select_one('nav a[data-nav="settings"]') is not None
        counts = {c["data-count"]: c.get_text() for c in page.select(".tabs [data-count]")}
        assert counts == {
            "new": "2",
            "update": "1",
            "unchanged": "1",
            "non_actionable": "2",
            "orphans": "0",
        }
        scopes = web.soup("/settings")
        assert scopes.select_one('tr[data-scope="Contacts.ReadWrite"]')["data-granted"] == "yes"
        assert DEFAULT_CLIENT_SECRET not in web.client.get("/settings").text


def test_a_user_without_contacts_readwrite_sees_it_missing_with_the_consent_link(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    settings = Settings(
        central=f"csv:{tmp_path / 'none.csv'}",
        # Settings are for admins: Read Only is made one by name (CENTRAL365_ADMINS), as a
        # first admin is in a tenant where no role is assigned yet.
        admins=("READONLY@contoso.test",),
        tenant_id=DEFAULT_TENANT_ID,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
        authority_host=sandbox.root_url,
        graph_url=sandbox.url,
        ca_bundle=sandbox.ca_path,
        data_dir=tmp_path / "data",
        public_url=PUBLIC_URL,
    )
    for web in serve(create_app(settings)):
        sign_in(web, sandbox, "Read Only")
        page = web.soup("/settings")
        assert page.select_one('tr[data-scope="Contacts.ReadWrite"]')["data-granted"] == "no"
        link = page.select_one("#admin-consent")["href"]
        assert link.startswith(f"{sandbox.root_url}/{DEFAULT_TENANT_ID}/v2.0/adminconsent?")


def sign_in(web: Web, sandbox: SandboxServer, who: str) -> None:
    start = web.client.get("/auth/login")
    assert start.status_code == 303, start.text
    query = pick_user(sandbox, start.headers["location"], who)
    done = web.client.get("/auth/callback", params=query)
    assert done.status_code == 303, done.text


def test_read_only_sees_the_synchronise_button_disabled_with_the_reason(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    settings = homepage_settings(sandbox, tmp_path)
    for web in serve(create_app(settings)):
        sign_in(web, sandbox, "Read Only")
        page = web.soup("/?state=new")
        assert page.select_one("#sync-selected").has_attr("disabled")
        reason = page.select_one("#sync-refusal").get_text()
        assert "Contacts.ReadWrite" in reason and "administrator" in reason
        assert page.select_one('nav a[data-nav="settings"]') is None
        assert web.client.get("/settings").status_code == 403


def test_a_script_calls_the_api_with_client_credentials_as_the_readme_shows(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The README's example: the demo's script app holds Central365.Sync on central365-demo."""
    central = tmp_path / "central.csv"
    write_csv(central, RECORDS)
    settings = Settings(
        central=f"csv:{central}",
        folder=FOLDER,
        auth=SignInMode.APP,
        mailbox=DEMO,
        tenant_id=DEFAULT_TENANT_ID,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
        authority_host=sandbox.root_url,
        graph_url=sandbox.url,
        ca_bundle=sandbox.ca_path,
        data_dir=tmp_path / "data",
        public_url=PUBLIC_URL,
    )
    session = trusting_session(sandbox.ca_path)  # the sandbox's own CA, not one of Microsoft's
    script = msal.ConfidentialClientApplication(
        "central365-script",
        client_credential="script-secret",
        authority=f"{sandbox.root_url}/{DEFAULT_TENANT_ID}",
        **msal_app_options(sandbox.root_url, session),
    )
    result = script.acquire_token_for_client(scopes=[f"api://{DEFAULT_CLIENT_ID}/.default"])
    assert "access_token" in result, result.get("error_description")
    headers = {"Authorization": f"Bearer {result['access_token']}"}
    for web in serve(create_app(settings)):
        plan = web.client.get("/api/plan", params={"state": "update"}, headers=headers)
        assert plan.status_code == 200, plan.text
        assert plan.json()["mailbox"] == DEMO and plan.json()["counts"]["update"] == 1
        # A Graph token of the same app is not a token for central365's API.
        graph = script.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
        refused = web.client.get(
            "/api/plan", headers={"Authorization": f"Bearer {graph['access_token']}"}
        )
        assert refused.status_code == 401
    session.close()
