"""Real msal-python against the sandbox over TLS: the production code path, unchanged.

Only three settings differ from Microsoft: the authority (`https://127.0.0.1:PORT/<tenant>`),
`instance_discovery=False` (msal would otherwise ask login.microsoftonline.com about an
unknown host) and a requests session that trusts the sandbox's CA.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from central365.sandbox.identity import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID
from central365.sandbox.server import SandboxServer

pytestmark = pytest.mark.e2e  # real processes on real ports

SCOPES = ["Contacts.ReadWrite", "User.Read"]
APP_SCOPES = ["https://graph.microsoft.com/.default"]
REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"


class _Forms(HTMLParser):
    """The POST forms of a page: (action, fields, {button text: (name, value)})."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str], dict[str, tuple[str, str]]]] = []
        self._button: tuple[str, str] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), {}, {}))
        elif tag == "input" and self.forms and a.get("type") == "hidden":
            self.forms[-1][1][a["name"]] = a.get("value", "")
        elif tag == "button":
            self._button, self._text = (a.get("name", ""), a.get("value", "")), ""

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.forms:
            self.forms[-1][2][self._text.strip()] = self._button
            self._button = None


def click(browser: httpx.Client, page: httpx.Response, button: str) -> httpx.Response:
    """Submit the form holding the button labelled `button`, as a browser would."""
    parser = _Forms()
    parser.feed(page.text)
    for action, fields, buttons in parser.forms:
        if button in buttons:
            name, value = buttons[button]
            data = {**fields, name: value} if name else fields
            return browser.post(str(page.url.join(action)), data=data)
    raise AssertionError(f"no button {button!r} on the page")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(tls=True) as server:
        yield server


@pytest.fixture
def session(sandbox: SandboxServer) -> Iterator[requests.Session]:
    http = requests.Session()
    http.verify = str(sandbox.ca_path)
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `Session.verify`
    # (psf/requests#3829); not reading the environment keeps the sandbox's CA in force.
    http.trust_env = False
    yield http
    http.close()


@pytest.fixture
def browser(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    context = ssl.create_default_context(cafile=str(sandbox.ca_path))
    with httpx.Client(verify=context, timeout=10) as client:
        yield client


def web_app(
    sandbox: SandboxServer, session: requests.Session, **options: Any
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        DEFAULT_CLIENT_ID,
        client_credential=options.pop("credential", DEFAULT_CLIENT_SECRET),
        authority=options.pop("authority", sandbox.authority("organizations")),
        http_client=session,
        instance_discovery=False,
        **options,
    )


def sign_in(
    app: msal.ConfidentialClientApplication, browser: httpx.Client, who: str
) -> dict[str, Any]:
    """The web app's sign-in: msal recommends (and warns without) response_mode=form_post."""
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    page = browser.get(flow["auth_uri"])
    assert page.status_code == 200
    assert "<script" not in page.text
    answer = click(browser, page, f"Sign in as {who}")
    assert answer.status_code == 200
    parser = _Forms()
    parser.feed(answer.text)
    ((action, fields, _),) = parser.forms
    assert action == REDIRECT_URI  # the browser would post these fields to the app
    result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, fields)
    return result


def graph(browser: httpx.Client, sandbox: SandboxServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=sandbox.url,
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=str(sandbox.ca_path)),
        timeout=10,
    )


def test_auth_code_flow_with_pkce_gives_a_token_graph_accepts(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    app = web_app(sandbox, session)
    result = sign_in(app, browser, "Demo User")
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "demo@contoso.test"
    assert result["id_token_claims"]["tid"] == DEFAULT_TENANT_ID
    assert "refresh_token" in result
    (account,) = app.get_accounts()
    assert account["username"] == "demo@contoso.test"
    with graph(browser, sandbox, result["access_token"]) as client:
        listed = client.get("/me/contactFolders")
        assert listed.status_code == 200, listed.text
        # Graph names the user by object id in @odata.context (issue 10 item 10)
        oid = result["id_token_claims"]["oid"]
        assert f"users('{oid}')" in listed.json()["@odata.context"]
        created = client.post("/me/contactFolders", json={"displayName": "From msal"})
        assert created.status_code == 201, created.text


def test_query_response_mode_redirects_with_code_and_state(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    app = web_app(sandbox, session)
    with pytest.warns(UserWarning, match="form_post"):
        flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    redirect = click(browser, browser.get(flow["auth_uri"]), "Sign in as Demo User")
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = dict(parse_qsl(urlsplit(location).query))
    assert query["state"] == flow["state"] and query["code"] and query["session_state"]
    result = app.acquire_token_by_auth_code_flow(flow, query)
    assert "access_token" in result, result


def test_read_only_user_can_read_but_not_write(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    app = web_app(sandbox, session)
    result = sign_in(app, browser, "Read Only")
    assert "access_token" in result, result
    assert "Contacts.ReadWrite" not in result["scope"]
    with graph(browser, sandbox, result["access_token"]) as client:
        assert client.get("/me/contactFolders").status_code == 200
        denied = client.post("/me/contactFolders", json={"displayName": "Nope"})
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "ErrorAccessDenied"
        assert denied.json()["error"]["message"] == (
            "Access is denied. Check credentials and try again."
        )


def test_silent_uses_the_cache_then_refreshes(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    app = web_app(sandbox, session)
    first = sign_in(app, browser, "Demo User")
    (account,) = app.get_accounts()
    cached = app.acquire_token_silent(SCOPES, account=account)
    assert cached is not None
    assert cached["access_token"] == first["access_token"]
    assert cached["token_source"] == "cache"
    refreshed = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
    assert refreshed is not None and refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != first["access_token"]
    with graph(browser, sandbox, refreshed["access_token"]) as client:
        assert client.get("/me/contactFolders").status_code == 200


def test_silent_refreshes_a_token_about_to_expire(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    service = sandbox.identity
    original = service.config
    # msal treats a token with less than 5 minutes left as expired.
    service.configure(original.updated({"access_token_lifetime_s": 120}))
    try:
        app = web_app(sandbox, session)
        first = sign_in(app, browser, "Demo User")
        (account,) = app.get_accounts()
        again = app.acquire_token_silent(SCOPES, account=account)
        assert again is not None and again["token_source"] == "identity_provider"
        assert again["access_token"] != first["access_token"]
        assert again["expires_in"] <= 120
    finally:
        service.configure(original)


def test_client_credentials_reach_any_mailbox_but_not_me(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    app = web_app(sandbox, session, authority=sandbox.authority("contoso.test"))
    result = app.acquire_token_for_client(scopes=APP_SCOPES)
    assert "access_token" in result, result
    again = app.acquire_token_for_client(scopes=APP_SCOPES)
    assert again["token_source"] == "cache"
    with graph(browser, sandbox, result["access_token"]) as client:
        listed = client.get("/users/demo%40contoso.test/contacts")
        assert listed.status_code == 200, listed.text
        me = client.get("/me/contacts")
        assert me.status_code == 400
        assert me.json()["error"]["message"] == (
            "/me request is only valid with delegated authentication flow."
        )


def test_wrong_secret_is_refused(sandbox: SandboxServer, session: requests.Session) -> None:
    app = web_app(
        sandbox, session, credential="wrong", authority=sandbox.authority(DEFAULT_TENANT_ID)
    )
    result = app.acquire_token_for_client(scopes=APP_SCOPES)
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS7000215:")
    assert result["error_codes"] == [7000215]


def _certificate() -> tuple[str, str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "central365 test app")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return key_pem, cert_pem, cert.fingerprint(hashes.SHA1()).hex()


def test_certificate_credentials_are_verified(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    key_pem, cert_pem, sha1 = _certificate()
    other_key, _, _ = _certificate()
    service = sandbox.identity
    original = service.config
    apps = [a for a in original.to_json()["apps"]]
    apps[0]["certificates"] = [cert_pem]
    service.configure(original.updated({"apps": apps}))
    authority = sandbox.authority(DEFAULT_TENANT_ID)
    try:
        # PS256 with x5t#S256 (msal's choice when it has the certificate) ...
        app = web_app(
            sandbox,
            session,
            authority=authority,
            credential={"private_key": key_pem, "public_certificate": cert_pem},
        )
        result = app.acquire_token_for_client(scopes=APP_SCOPES)
        assert "access_token" in result, result
        # ... RS256 with the SHA-1 thumbprint (central365's certificate_credential) ...
        app = web_app(
            sandbox,
            session,
            authority=authority,
            credential={"private_key": key_pem, "thumbprint": sha1},
        )
        assert "access_token" in app.acquire_token_for_client(scopes=APP_SCOPES)
        # ... and a key that does not match the registered certificate fails.
        forged = web_app(
            sandbox,
            session,
            authority=authority,
            credential={"private_key": other_key, "thumbprint": sha1},
        )
        refused = forged.acquire_token_for_client(scopes=APP_SCOPES)
        assert refused["error"] == "invalid_client", refused
    finally:
        service.configure(original)


def test_device_code_flow(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    app = msal.PublicClientApplication(
        DEFAULT_CLIENT_ID,
        authority=sandbox.authority("organizations"),
        http_client=session,
        instance_discovery=False,
    )
    flow = app.initiate_device_flow(scopes=["Contacts.ReadWrite"])
    assert "user_code" in flow, flow
    assert flow["verification_uri"] == f"{sandbox.root_url}/devicelogin"
    entry = browser.get(flow["verification_uri"])
    parser = _Forms()
    parser.feed(entry.text)
    ((action, _, _),) = parser.forms
    chooser = browser.post(str(entry.url.join(action)), data={"user_code": flow["user_code"]})
    assert chooser.status_code == 200
    done = click(browser, chooser, "Sign in as Demo User")
    assert done.status_code == 200 and "Signed in as Demo User" in done.text
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "demo@contoso.test"
