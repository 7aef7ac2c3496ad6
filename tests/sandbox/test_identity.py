"""The identity platform endpoints and the Graph side's token checks, in-process (no TLS).

msal itself is exercised in test_identity_msal.py; here every rule is driven with plain HTTP,
the way msal would send it, so each error shape can be checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import pytest
from starlette.applications import Starlette

from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.identity import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    IdentityConfig,
    IdentityService,
)
from central365.sandbox.identity.pages import AUTOSUBMIT_PATH
from central365.sandbox.identity.registry import derived_oid
from central365.sandbox.tls import ensure_tls_files
from central365.sandbox.transport import InProcessTransport

ROOT = "http://sandbox.test"
AUTHORITY = f"{ROOT}/organizations"
REDIRECT = "http://127.0.0.1:8000/auth/callback"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def identity(clock: Clock) -> IdentityService:
    return IdentityService(clock=clock)


@pytest.fixture
def app(identity: IdentityService) -> Starlette:
    # Mailboxes beyond the directory's users must exist (issue 10 item 4).
    return create_sandbox_app(
        SandboxStore(mailboxes=("anyone@contoso.test", "x@contoso.test")), identity=identity
    )


@pytest.fixture
def http(app: Starlette) -> Iterator[httpx.Client]:
    with httpx.Client(transport=InProcessTransport(app), base_url=ROOT) as client:
        yield client


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_params(challenge: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": DEFAULT_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "Contacts.ReadWrite User.Read openid profile offline_access",
        "state": "st4te",
        "nonce": "n0nce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return dict(parse_qsl(urlsplit(location).query))


def get_code(http: httpx.Client, challenge: str, user: str = "demo@contoso.test") -> str:
    params = authorize_params(challenge)
    answer = http.post(
        "/organizations/oauth2/v2.0/authorize",
        data={**params, "sandbox_user": user, "sandbox_action": "signin"},
    )
    query = redirect_query(answer)
    assert query["state"] == "st4te" and query["session_state"]
    return query["code"]


def token(http: httpx.Client, tenant: str = "organizations", **form: str) -> httpx.Response:
    body = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, **form}
    return http.post(f"/{tenant}/oauth2/v2.0/token", data=body)


def sign_in(http: httpx.Client, user: str = "demo@contoso.test") -> dict[str, Any]:
    verifier, challenge = pkce()
    code = get_code(http, challenge, user)
    answer = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
        client_info="1",
        scope="Contacts.ReadWrite User.Read openid profile offline_access",
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def assert_oauth_error(response: httpx.Response, error: str, code: int, status: int = 400) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


# -- discovery ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "segment", "issuer_tid"),
    [
        ("organizations", "organizations", "{tenantid}"),
        ("common", "common", "{tenantid}"),
        (DEFAULT_TENANT_ID, DEFAULT_TENANT_ID, DEFAULT_TENANT_ID),
        ("contoso.test", DEFAULT_TENANT_ID, DEFAULT_TENANT_ID),
    ],
)
def test_openid_configuration(
    http: httpx.Client, tenant: str, segment: str, issuer_tid: str
) -> None:
    body = http.get(f"/{tenant}/v2.0/.well-known/openid-configuration").json()
    assert body["issuer"] == f"{ROOT}/{issuer_tid}/v2.0"
    assert body["token_endpoint"] == f"{ROOT}/{segment}/oauth2/v2.0/token"
    assert body["authorization_endpoint"] == f"{ROOT}/{segment}/oauth2/v2.0/authorize"
    assert body["device_authorization_endpoint"] == f"{ROOT}/{segment}/oauth2/v2.0/devicecode"
    assert body["end_session_endpoint"] == f"{ROOT}/{segment}/oauth2/v2.0/logout"
    assert body["jwks_uri"] == f"{ROOT}/{segment}/discovery/v2.0/keys"
    assert "code" in body["response_types_supported"]
    assert "offline_access" in body["scopes_supported"]


def test_unknown_tenant_is_refused(http: httpx.Client) -> None:
    answer = http.get("/fabrikam.test/v2.0/.well-known/openid-configuration")
    assert_oauth_error(answer, "invalid_tenant", 90002)


def test_tokens_verify_against_the_published_keys(http: httpx.Client) -> None:
    jwks = http.get("/organizations/discovery/v2.0/keys").json()
    (jwk,) = jwks["keys"]
    result = sign_in(http)
    header = jwt.get_unverified_header(result["access_token"])
    assert header["kid"] == jwk["kid"] and header["alg"] == "RS256"
    key = jwt.PyJWK(jwk).key
    later = {"verify_iat": False, "verify_nbf": False}  # the sandbox runs on a test clock
    claims = jwt.decode(
        result["access_token"],
        key,
        algorithms=["RS256"],
        audience="https://graph.microsoft.com",
        options=later,
    )
    assert claims["scp"] == "Contacts.ReadWrite User.Read"
    assert claims["preferred_username"] == claims["upn"] == "demo@contoso.test"
    assert claims["tid"] == DEFAULT_TENANT_ID and claims["name"] == "Demo User"
    assert claims["iss"] == f"{ROOT}/{DEFAULT_TENANT_ID}/v2.0"
    assert claims["exp"] - claims["iat"] == 3600
    id_claims = jwt.decode(
        result["id_token"], key, algorithms=["RS256"], audience=DEFAULT_CLIENT_ID, options=later
    )
    assert id_claims["nonce"] == "n0nce" and id_claims["oid"] == claims["oid"]
    assert id_claims["preferred_username"] == "demo@contoso.test"
    info = json.loads(base64.urlsafe_b64decode(result["client_info"] + "=="))
    assert info == {"uid": claims["oid"], "utid": DEFAULT_TENANT_ID}
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == result["ext_expires_in"] == 3600
    assert result["scope"] == "Contacts.ReadWrite User.Read openid profile"


# -- authorize -----------------------------------------------------------------------------------


def test_sign_in_page_lists_users_and_the_consent(http: httpx.Client) -> None:
    _, challenge = pkce()
    page = http.get("/organizations/oauth2/v2.0/authorize", params=authorize_params(challenge))
    assert page.status_code == 200
    assert "Sign in as Demo User" in page.text and "Sign in as Read Only" in page.text
    assert "Contacts.ReadWrite, User.Read, openid" in page.text
    assert "<script" not in page.text and "http" not in page.text.split("<main>")[0]
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert 'name="code_challenge"' in page.text  # the query travels in hidden fields


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"client_id": "nobody"}, "AADSTS700016"),
        ({"redirect_uri": "https://evil.test/auth/callback"}, "AADSTS50011"),
        ({"redirect_uri": ""}, "AADSTS900144"),
    ],
)
def test_untrusted_redirects_get_an_error_page(
    http: httpx.Client, change: dict[str, str], fragment: str
) -> None:
    _, challenge = pkce()
    page = http.get(
        "/organizations/oauth2/v2.0/authorize", params={**authorize_params(challenge), **change}
    )
    assert page.status_code == 400
    assert fragment in page.text


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        ({"response_type": "token"}, "unsupported_response_type", 700051),
        ({"code_challenge": ""}, "invalid_request", 9002325),
        ({"code_challenge_method": "plain"}, "invalid_request", 501492),
        ({"scope": "Mail.Read"}, "consent_required", 65001),
        ({"scope": "https://management.azure.com/user_impersonation"}, "invalid_scope", 70011),
        ({"prompt": "none"}, "login_required", 50058),
    ],
)
def test_bad_authorize_requests_redirect_with_an_error(
    http: httpx.Client, change: dict[str, str], error: str, code: int
) -> None:
    _, challenge = pkce()
    answer = http.get(
        "/organizations/oauth2/v2.0/authorize", params={**authorize_params(challenge), **change}
    )
    query = redirect_query(answer)
    assert query["error"] == error
    assert query["error_description"].startswith(f"AADSTS{code}: ")
    assert query["state"] == "st4te"


def test_cancel_is_access_denied(http: httpx.Client) -> None:
    _, challenge = pkce()
    answer = http.post(
        "/organizations/oauth2/v2.0/authorize",
        data={**authorize_params(challenge), "sandbox_action": "cancel"},
    )
    assert redirect_query(answer)["error"] == "access_denied"


def test_form_post_and_fragment_response_modes(http: httpx.Client) -> None:
    _, challenge = pkce()
    data = {"sandbox_user": "demo@contoso.test", "sandbox_action": "signin"}
    page = http.post(
        "/organizations/oauth2/v2.0/authorize",
        data={**authorize_params(challenge, response_mode="form_post"), **data},
    )
    assert page.status_code == 200
    assert f'action="{REDIRECT}"' in page.text and 'name="code"' in page.text
    assert f'src="{AUTOSUBMIT_PATH}"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "submit()" in http.get(AUTOSUBMIT_PATH).text
    answer = http.post(
        "/organizations/oauth2/v2.0/authorize",
        data={**authorize_params(challenge, response_mode="fragment"), **data},
    )
    fragment = dict(parse_qsl(urlsplit(answer.headers["location"]).fragment))
    assert fragment["code"] and fragment["state"] == "st4te"


# -- token endpoint ------------------------------------------------------------------------------


def test_codes_are_one_time_and_bound_to_pkce_redirect_and_client(http: httpx.Client) -> None:
    verifier, challenge = pkce()
    code = get_code(http, challenge)
    wrong = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier + "x",
    )
    assert_oauth_error(wrong, "invalid_grant", 501481)
    # the failed attempt used the code up, as Entra does
    again = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert_oauth_error(again, "invalid_grant", 54005)
    code = get_code(http, challenge)
    other_uri = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri="http://localhost:8000/auth/callback",
        code_verifier=verifier,
    )
    assert_oauth_error(other_uri, "invalid_grant", 500112)
    garbage = token(
        http,
        grant_type="authorization_code",
        code="nope",
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert_oauth_error(garbage, "invalid_grant", 9002313)


def test_codes_expire(http: httpx.Client, clock: Clock) -> None:
    verifier, challenge = pkce()
    code = get_code(http, challenge)
    clock.now += 601
    answer = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert_oauth_error(answer, "invalid_grant", 70008)


def test_client_authentication(http: httpx.Client) -> None:
    wrong = token(
        http,
        grant_type="client_credentials",
        client_secret="nope",
        scope="https://graph.microsoft.com/.default",
    )
    assert_oauth_error(wrong, "invalid_client", 7000215, status=401)
    unknown = token(
        http,
        grant_type="client_credentials",
        client_id="nobody",
        scope="https://graph.microsoft.com/.default",
    )
    assert_oauth_error(unknown, "unauthorized_client", 700016)
    basic = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
    via_basic = http.post(
        f"/{DEFAULT_TENANT_ID}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert via_basic.status_code == 200, via_basic.text
    no_secret = http.post(
        f"/{DEFAULT_TENANT_ID}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert_oauth_error(no_secret, "invalid_client", 7000218, status=401)
    forged = token(
        http,
        grant_type="client_credentials",
        client_secret="",
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion="a.b.c",
        scope="https://graph.microsoft.com/.default",
    )
    assert_oauth_error(forged, "invalid_client", 700027, status=401)


def test_client_credentials(http: httpx.Client) -> None:
    answer = token(
        http,
        DEFAULT_TENANT_ID,
        grant_type="client_credentials",
        scope="https://graph.microsoft.com/.default",
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["Contacts.ReadWrite"] and claims["idtyp"] == "app"
    assert "scp" not in claims and claims["appid"] == DEFAULT_CLIENT_ID
    named = token(
        http, DEFAULT_TENANT_ID, grant_type="client_credentials", scope="Contacts.ReadWrite"
    )
    assert_oauth_error(named, "invalid_scope", 1002012)
    other = token(
        http,
        DEFAULT_TENANT_ID,
        grant_type="client_credentials",
        scope="https://vault.azure.net/.default",
    )
    assert_oauth_error(other, "invalid_resource", 500011)
    assert_oauth_error(token(http, grant_type="password"), "unsupported_grant_type", 70003)


def test_refresh_tokens_rotate_and_are_no_access_tokens(http: httpx.Client) -> None:
    first = sign_in(http)
    refreshed = token(
        http,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        scope="Contacts.ReadWrite openid profile offline_access",
        client_info="1",
    )
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert "id_token" in body and "client_info" in body
    assert (
        http.get("/v1.0/me/contactFolders", headers=bearer(body["access_token"])).status_code == 200
    )
    refused = http.get("/v1.0/me/contactFolders", headers=bearer(first["refresh_token"]))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    other_client = http.post(
        "/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": "someone-else",
        },
    )
    assert_oauth_error(other_client, "unauthorized_client", 700016)
    bad = token(http, grant_type="refresh_token", refresh_token="garbage")
    assert_oauth_error(bad, "invalid_grant", 9002313)


def test_refresh_tokens_expire(http: httpx.Client, clock: Clock) -> None:
    first = sign_in(http)
    clock.now += 91 * 24 * 3600
    answer = token(http, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert_oauth_error(answer, "invalid_grant", 700082)


# -- device code ---------------------------------------------------------------------------------


def test_device_code_flow_pending_then_approved(http: httpx.Client) -> None:
    start = http.post(
        "/organizations/oauth2/v2.0/devicecode",
        data={"client_id": DEFAULT_CLIENT_ID, "scope": "Contacts.ReadWrite openid"},
    )
    flow = start.json()
    assert flow["verification_uri"] == f"{ROOT}/devicelogin"
    assert flow["user_code"] in flow["message"] and flow["interval"] == 5
    poll = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "client_id": DEFAULT_CLIENT_ID,
        "device_code": flow["device_code"],
    }
    pending = http.post("/organizations/oauth2/v2.0/token", data=poll)
    assert_oauth_error(pending, "authorization_pending", 70016)
    wrong = http.post("/devicelogin", data={"user_code": "XXXXXXXXX"})
    assert wrong.status_code == 400 and "That code didn" in wrong.text
    chooser = http.post("/devicelogin", data={"user_code": flow["user_code"].lower()})
    assert "Sign in as Read Only" in chooser.text
    done = http.post(
        "/devicelogin",
        data={
            "user_code": flow["user_code"],
            "sandbox_user": "readonly@contoso.test",
            "sandbox_action": "signin",
        },
    )
    assert "Signed in as Read Only" in done.text
    granted = http.post("/organizations/oauth2/v2.0/token", data=poll)
    assert granted.status_code == 200
    claims = jwt.decode(granted.json()["access_token"], options={"verify_signature": False})
    assert claims["scp"] == "Contacts.Read User.Read"
    assert_oauth_error(
        http.post("/organizations/oauth2/v2.0/token", data=poll), "expired_token", 70019
    )


def test_device_code_declined(http: httpx.Client) -> None:
    flow = http.post(
        "/organizations/oauth2/v2.0/devicecode",
        data={"client_id": DEFAULT_CLIENT_ID, "scope": "User.Read"},
    ).json()
    http.post("/devicelogin", data={"user_code": flow["user_code"], "sandbox_action": "cancel"})
    answer = http.post(
        "/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": DEFAULT_CLIENT_ID,
            "device_code": flow["device_code"],
        },
    )
    assert_oauth_error(answer, "authorization_declined", 65004)


# -- Graph side ----------------------------------------------------------------------------------


def test_me_is_the_signed_in_user(http: httpx.Client) -> None:
    result = sign_in(http, "readonly@contoso.test")
    listed = http.get("/v1.0/me/contactFolders", headers=bearer(result["access_token"]))
    assert listed.status_code == 200
    # Graph names the user by object id in @odata.context (issue 10 item 10)
    oid = derived_oid("user", "readonly@contoso.test")
    assert f"users('{oid}')" in listed.json()["@odata.context"]


def test_scopes_are_enforced_on_requests_and_batch_members(http: httpx.Client) -> None:
    reader = sign_in(http, "readonly@contoso.test")["access_token"]
    denied = http.post("/v1.0/me/contactFolders", json={"displayName": "X"}, headers=bearer(reader))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "ErrorAccessDenied"
    batch = http.post(
        "/v1.0/$batch",
        headers=bearer(reader),
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": "/me/contacts"},
                {
                    "id": "2",
                    "method": "POST",
                    "url": "/me/contacts",
                    "headers": {"Content-Type": "application/json"},
                    "body": {"givenName": "A"},
                },
                {"id": "3", "method": "GET", "url": "/users/demo@contoso.test/contacts"},
            ]
        },
    )
    assert batch.status_code == 200
    statuses = {r["id"]: r["status"] for r in batch.json()["responses"]}
    assert statuses == {"1": 200, "2": 403, "3": 403}


def test_delegated_tokens_reach_only_their_own_mailbox(http: httpx.Client) -> None:
    writer = sign_in(http)["access_token"]
    own = http.get("/v1.0/users/DEMO%40contoso.test/contacts", headers=bearer(writer))
    assert own.status_code == 200
    other = http.get("/v1.0/users/readonly%40contoso.test/contacts", headers=bearer(writer))
    assert other.status_code == 403


def test_app_only_tokens(http: httpx.Client, identity: IdentityService) -> None:
    body = token(
        http,
        DEFAULT_TENANT_ID,
        grant_type="client_credentials",
        scope="https://graph.microsoft.com/.default",
    ).json()
    app_token = body["access_token"]
    me = http.get("/v1.0/me/contacts", headers=bearer(app_token))
    assert me.status_code == 400 and me.json()["error"]["code"] == "BadRequest"
    created = http.post(
        "/v1.0/users/anyone%40contoso.test/contactFolders",
        json={"displayName": "CRM"},
        headers=bearer(app_token),
    )
    assert created.status_code == 201
    config = identity.config.to_json()
    config["apps"][0]["application"] = ["Contacts.Read"]
    identity.configure(identity.config.updated({"apps": config["apps"]}))
    reader = token(
        http,
        DEFAULT_TENANT_ID,
        grant_type="client_credentials",
        scope="https://graph.microsoft.com/.default",
    ).json()["access_token"]
    assert (
        http.get("/v1.0/users/x%40contoso.test/contacts", headers=bearer(reader)).status_code == 200
    )
    assert (
        http.post(
            "/v1.0/users/x%40contoso.test/contactFolders",
            json={"displayName": "Y"},
            headers=bearer(reader),
        ).status_code
        == 403
    )


def test_expired_and_forged_tokens_are_401(http: httpx.Client, clock: Clock) -> None:
    access = sign_in(http)["access_token"]
    head, payload, signature = access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scp"] = "Contacts.ReadWrite.Shared"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = http.get("/v1.0/me/contacts", headers=bearer(f"{head}.{forged_payload}.{signature}"))
    assert forged.status_code == 401
    foreign_key = IdentityService().key
    foreign = http.get("/v1.0/me/contacts", headers=bearer(foreign_key.sign(claims)))
    assert foreign.status_code == 401
    clock.now += 3601
    expired = http.get("/v1.0/me/contacts", headers=bearer(access))
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == (
        "Lifetime validation failed, the token is expired."
    )


def test_opaque_tokens_keep_the_old_behaviour(identity: IdentityService) -> None:
    app = create_sandbox_app(SandboxStore(), token="fixed", identity=identity)
    with httpx.Client(transport=InProcessTransport(app), base_url=ROOT) as client:
        assert client.get("/v1.0/me/contacts", headers=bearer("fixed")).status_code == 200
        assert client.get("/v1.0/me/contacts", headers=bearer("other")).status_code == 401
        jwt_token = sign_in(client)["access_token"]  # sandbox JWTs pass a fixed-token app too
        assert client.get("/v1.0/me/contacts", headers=bearer(jwt_token)).status_code == 200


# -- admin API, logout, TLS files -------------------------------------------------------------


def test_admin_identity_get_and_put(http: httpx.Client) -> None:
    body = http.get("/_sandbox/identity").json()
    assert body["tenant_id"] == DEFAULT_TENANT_ID
    app, script = body["apps"]
    assert app["client_id"] == DEFAULT_CLIENT_ID and app["secrets"] == [DEFAULT_CLIENT_SECRET]
    assert script["client_id"] == "central365-script" and script["secrets"] == ["script-secret"]
    assert [u["username"] for u in body["users"]] == [
        "demo@contoso.test",
        "staff@contoso.test",
        "readonly@contoso.test",
    ]
    changed = http.put(
        "/_sandbox/identity",
        json={
            "users": [{"name": "Ann", "username": "ann@contoso.test"}],
            "access_token_lifetime_s": 600,
        },
    )
    assert changed.status_code == 200
    assert changed.json()["users"][0]["oid"]
    assert http.put("/_sandbox/identity", json=changed.json()).status_code == 200
    assert sign_in(http, "ann@contoso.test")["expires_in"] == 600
    for bad in (
        {"nope": 1},
        {"access_token_lifetime_s": 0},
        {"users": [{"name": 3}]},
        {"tenant_id": "not-a-guid"},
        {"apps": "x"},
    ):
        answer = http.put("/_sandbox/identity", json=bad)
        assert answer.status_code == 400 and answer.json()["error"], bad


def test_identity_config_from_json_file_shape() -> None:
    # The demo users hold roles on the demo app, so it stays registered beside the new one.
    demo_apps = IdentityConfig().to_json()["apps"]
    config = IdentityConfig.from_json(
        {"apps": [*demo_apps, {"client_id": "cli", "delegated": "A B"}]}
    )
    app = config.apps[-1]
    assert app.delegated == ("A", "B") and app.public_client and not app.confidential
    assert len(config.users) == 3  # untouched fields keep their defaults
    with pytest.raises(ValueError, match="repeated"):
        IdentityConfig.from_json({"apps": [{"client_id": "a"}, {"client_id": "A"}]})


def test_logout_redirects_only_to_known_places(http: httpx.Client) -> None:
    back = http.get(
        "/organizations/oauth2/v2.0/logout",
        params={"post_logout_redirect_uri": "http://127.0.0.1:8000/", "state": "s"},
    )
    assert back.status_code == 302 and back.headers["location"] == "http://127.0.0.1:8000/?state=s"
    elsewhere = http.get(
        "/organizations/oauth2/v2.0/logout",
        params={"post_logout_redirect_uri": "https://evil.test/"},
    )
    assert elsewhere.status_code == 200 and "signed out" in elsewhere.text


def test_tls_files_reuse_the_ca(tmp_path: Path) -> None:
    first = ensure_tls_files(tmp_path, ["127.0.0.1"])
    ca = first.ca_path.read_bytes()
    server = first.cert_path.read_bytes()
    second = ensure_tls_files(tmp_path, ["localhost"])
    assert second.ca_path.read_bytes() == ca  # trusted once, trusted across restarts
    assert second.cert_path.read_bytes() != server
    assert (tmp_path / "sandbox-ca-key.pem").stat().st_mode & 0o077 == 0
    assert second.key_path.stat().st_mode & 0o077 == 0
    third = ensure_tls_files(tmp_path, ["10.1.2.3"])  # outside the CA's name constraints
    assert third.ca_path.read_bytes() != ca


def test_signing_key_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    first = IdentityService(key_path=path)
    signed = first.key.sign({"aud": "https://graph.microsoft.com", "iat": 1, "exp": 2**40})
    assert path.stat().st_mode & 0o077 == 0
    assert IdentityService(key_path=path).verify_access_token(signed)["iat"] == 1


def test_nothing_is_built_until_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from central365.sandbox.identity import keys

    calls: list[int] = []
    original: Callable[[], keys.SigningKey] = keys.SigningKey.generate
    monkeypatch.setattr(keys.SigningKey, "generate", lambda: calls.append(1) or original())
    service = IdentityService()
    create_sandbox_app(SandboxStore(), identity=service)
    assert calls == []
    service.jwks()
    service.jwks()
    assert calls == [1]
