"""App roles, the app's own API and admin consent, driven with plain HTTP (in-process).

The real msal path is in test_identity_roles_msal.py; here each claim and each error shape is
checked the way Entra documents it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import jwt
import pytest
from starlette.applications import Starlette

from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.identity import (
    DEFAULT_CLIENT_ID,
    DEFAULT_TENANT_ID,
    SCRIPT_CLIENT_ID,
    SCRIPT_CLIENT_SECRET,
    IdentityConfig,
    IdentityService,
)
from central365.sandbox.transport import InProcessTransport
from tests.sandbox.test_identity import (
    REDIRECT,
    ROOT,
    Clock,
    assert_oauth_error,
    authorize_params,
    pkce,
    redirect_query,
    sign_in,
    token,
)

API_SCOPE = f"api://{DEFAULT_CLIENT_ID}/Runs.ReadWrite"
DEMO, STAFF, READ_ONLY = "demo@contoso.test", "staff@contoso.test", "readonly@contoso.test"


@pytest.fixture
def identity() -> IdentityService:
    return IdentityService(clock=Clock())


@pytest.fixture
def http(identity: IdentityService) -> Iterator[httpx.Client]:
    app: Starlette = create_sandbox_app(SandboxStore(), identity=identity)
    with httpx.Client(transport=InProcessTransport(app), base_url=ROOT) as client:
        yield client


def claims_of(encoded: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(encoded, options={"verify_signature": False})
    return decoded


def refresh(http: httpx.Client, refresh_token: str, scope: str) -> httpx.Response:
    return token(http, grant_type="refresh_token", refresh_token=refresh_token, scope=scope)


def api_token(http: httpx.Client, user: str) -> httpx.Response:
    signed_in = sign_in(http, user)
    return refresh(http, signed_in["refresh_token"], f"{API_SCOPE} openid profile offline_access")


# -- ID tokens --------------------------------------------------------------------------------


def test_id_token_carries_the_users_roles_on_the_app_only_when_assigned(
    http: httpx.Client,
) -> None:
    demo = claims_of(sign_in(http, DEMO)["id_token"])
    assert demo["roles"] == ["Central365.Admin"] and demo["aud"] == DEFAULT_CLIENT_ID
    for user in (STAFF, READ_ONLY):
        assert "roles" not in claims_of(sign_in(http, user)["id_token"]), user


def test_refreshed_and_device_id_tokens_carry_the_roles(http: httpx.Client) -> None:
    first = sign_in(http, DEMO)
    again = refresh(http, first["refresh_token"], "User.Read openid profile offline_access")
    assert claims_of(again.json()["id_token"])["roles"] == ["Central365.Admin"]
    started = http.post(
        "/organizations/oauth2/v2.0/devicecode",
        data={"client_id": DEFAULT_CLIENT_ID, "scope": "User.Read openid profile"},
    ).json()
    http.post(
        "/devicelogin",
        data={"user_code": started["user_code"], "sandbox_user": DEMO, "sandbox_action": "signin"},
    )
    done = token(
        http,
        grant_type="urn:ietf:params:oauth:grant-type:device_code",
        device_code=started["device_code"],
    )
    assert claims_of(done.json()["id_token"])["roles"] == ["Central365.Admin"]


def test_sign_in_page_lists_the_three_users_with_their_roles_in_words(http: httpx.Client) -> None:
    _, challenge = pkce()
    page = http.get("/organizations/oauth2/v2.0/authorize", params=authorize_params(challenge))
    assert page.status_code == 200
    for name in ("Demo User", "Staff User", "Read Only"):
        assert f"Sign in as {name}" in page.text
    assert "role: Administrator (Central365.Admin); directory admin" in page.text
    assert page.text.count("no app role") == 2


# -- delegated tokens for the app's own API -----------------------------------------------------


def test_api_token_by_refresh_token_for_the_apps_own_scope(http: httpx.Client) -> None:
    answer = api_token(http, DEMO)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["scope"] == API_SCOPE  # only the API's scopes, spelled in full
    claims = claims_of(body["access_token"])
    user = IdentityConfig().user(DEMO)
    assert user is not None
    assert claims["aud"] == DEFAULT_CLIENT_ID  # accessTokenAcceptedVersion 2: the client id
    assert claims["iss"] == f"{ROOT}/{DEFAULT_TENANT_ID}/v2.0" and claims["ver"] == "2.0"
    assert claims["scp"] == "Runs.ReadWrite" and claims["roles"] == ["Central365.Admin"]
    assert claims["azp"] == DEFAULT_CLIENT_ID and claims["azpacr"] == "1"
    assert claims["tid"] == DEFAULT_TENANT_ID and claims["oid"] == user.oid
    assert claims["preferred_username"] == DEMO and "idtyp" not in claims  # app-only tokens
    # `sub` is pairwise per user and app; here the API is the app signed in to.
    assert claims["sub"] == claims_of(body["id_token"])["sub"] != user.oid
    assert "appid" not in claims and "upn" not in claims  # v1.0 claims only
    # Graph does not take a token issued for another API.
    refused = http.get(
        "/v1.0/me/contacts", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert refused.status_code == 401


def test_api_token_of_a_user_without_roles_has_no_roles_claim(http: httpx.Client) -> None:
    claims = claims_of(api_token(http, STAFF).json()["access_token"])
    assert claims["scp"] == "Runs.ReadWrite" and "roles" not in claims


def test_version_1_api_tokens_name_the_identifier_uri(
    http: httpx.Client, identity: IdentityService
) -> None:
    apps = identity.config.to_json()["apps"]
    apps[0]["access_token_version"] = None  # Entra's default
    apps[0]["optional_claims"] = []
    identity.configure(identity.config.updated({"apps": apps}))
    claims = claims_of(api_token(http, DEMO).json()["access_token"])
    assert claims["aud"] == f"api://{DEFAULT_CLIENT_ID}" and claims["ver"] == "1.0"
    assert claims["iss"] == f"{ROOT}/{DEFAULT_TENANT_ID}/"
    assert claims["appid"] == DEFAULT_CLIENT_ID and claims["appidacr"] == "1"
    assert claims["upn"] == DEMO and claims["roles"] == ["Central365.Admin"]
    assert "azp" not in claims and "idtyp" not in claims  # idtyp is an optional claim


def test_sign_in_straight_for_the_api(http: httpx.Client) -> None:
    verifier, challenge = pkce()
    params = authorize_params(challenge, scope=f"{API_SCOPE} openid offline_access")
    answer = http.post(
        "/organizations/oauth2/v2.0/authorize",
        data={**params, "sandbox_user": STAFF, "sandbox_action": "signin"},
    )
    code = redirect_query(answer)["code"]
    body = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
        scope=f"{API_SCOPE} openid offline_access",
    ).json()
    assert claims_of(body["access_token"])["aud"] == DEFAULT_CLIENT_ID
    assert "roles" not in claims_of(body["id_token"])


# -- app tokens for the app's own API ----------------------------------------------------------


def test_client_credentials_for_the_api_carry_the_calling_apps_roles(http: httpx.Client) -> None:
    answer = token(
        http,
        DEFAULT_TENANT_ID,
        client_id=SCRIPT_CLIENT_ID,
        client_secret=SCRIPT_CLIENT_SECRET,
        grant_type="client_credentials",
        scope=f"api://{DEFAULT_CLIENT_ID}/.default",
    )
    assert answer.status_code == 200, answer.text
    claims = claims_of(answer.json()["access_token"])
    script = IdentityConfig().app(SCRIPT_CLIENT_ID)
    assert script is not None
    assert claims["roles"] == ["Central365.Sync"] and "scp" not in claims
    assert claims["aud"] == DEFAULT_CLIENT_ID and claims["azp"] == SCRIPT_CLIENT_ID
    assert claims["oid"] == claims["sub"] == script.oid and claims["idtyp"] == "app"
    assert claims["tid"] == DEFAULT_TENANT_ID and claims["ver"] == "2.0"


def test_client_credentials_without_an_assignment_have_no_roles(http: httpx.Client) -> None:
    answer = token(
        http,
        DEFAULT_TENANT_ID,
        grant_type="client_credentials",
        scope=f"api://{DEFAULT_CLIENT_ID}/.default",
    )
    claims = claims_of(answer.json()["access_token"])
    assert claims["azp"] == DEFAULT_CLIENT_ID and "roles" not in claims and "scp" not in claims
    unknown = token(
        http, DEFAULT_TENANT_ID, grant_type="client_credentials", scope="api://nobody/.default"
    )
    assert_oauth_error(unknown, "invalid_resource", 500011)
    script_needs_a_secret = token(
        http,
        DEFAULT_TENANT_ID,
        client_id=SCRIPT_CLIENT_ID,
        client_secret="",
        grant_type="client_credentials",
        scope=f"api://{DEFAULT_CLIENT_ID}/.default",
    )
    assert_oauth_error(script_needs_a_secret, "invalid_client", 7000218, status=401)


# -- refused requests -------------------------------------------------------------------------


def test_one_token_request_for_two_resources_is_refused(http: httpx.Client) -> None:
    first = sign_in(http, DEMO)
    mixed = f"User.Read {API_SCOPE} openid profile offline_access"
    answer = refresh(http, first["refresh_token"], mixed)
    assert_oauth_error(answer, "invalid_scope", 28000)
    assert mixed in answer.json()["error_description"]
    # The authorize endpoint accepts both (one consent), the code redemption refuses them.
    verifier, challenge = pkce()
    params = authorize_params(challenge, scope=mixed)
    code = redirect_query(
        http.post(
            "/organizations/oauth2/v2.0/authorize",
            data={**params, "sandbox_user": DEMO, "sandbox_action": "signin"},
        )
    )["code"]
    redeemed = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
        scope=mixed,
    )
    assert_oauth_error(redeemed, "invalid_scope", 28000)
    device = http.post(
        "/organizations/oauth2/v2.0/devicecode",
        data={"client_id": DEFAULT_CLIENT_ID, "scope": mixed},
    )
    assert_oauth_error(device, "invalid_scope", 28000)
    two_defaults = token(
        http,
        DEFAULT_TENANT_ID,
        grant_type="client_credentials",
        scope=f"https://graph.microsoft.com/.default api://{DEFAULT_CLIENT_ID}/.default",
    )
    assert_oauth_error(two_defaults, "invalid_scope", 70011)


def test_scopes_the_api_does_not_expose_or_the_app_was_not_granted(
    http: httpx.Client, identity: IdentityService
) -> None:
    first = sign_in(http, DEMO)
    unexposed = refresh(http, first["refresh_token"], f"api://{DEFAULT_CLIENT_ID}/Runs.Delete")
    assert_oauth_error(unexposed, "invalid_client", 650053)
    _, challenge = pkce()
    bad = http.get(
        "/organizations/oauth2/v2.0/authorize",
        params=authorize_params(challenge, scope=f"api://{DEFAULT_CLIENT_ID}/Runs.Delete"),
    )
    assert redirect_query(bad)["error"] == "invalid_client"
    apps = identity.config.to_json()["apps"]
    apps[0]["delegated"] = ["Contacts.ReadWrite", "User.Read"]
    identity.configure(identity.config.updated({"apps": apps}))
    second = sign_in(http, DEMO)
    not_granted = refresh(http, second["refresh_token"], API_SCOPE)
    assert_oauth_error(not_granted, "consent_required", 65001)


# -- the directory as JSON --------------------------------------------------------------------


def test_directory_round_trips_through_json(http: httpx.Client) -> None:
    config = IdentityConfig()
    assert IdentityConfig.from_json(config.to_json()) == config
    body = http.get("/_sandbox/identity").json()
    demo = body["users"][0]
    assert demo["roles"] == {DEFAULT_CLIENT_ID: ["Central365.Admin"]} and demo["directory_admin"]
    app, script = body["apps"]
    assert [r["value"] for r in app["app_roles"]] == ["Central365.Admin", "Central365.Sync"]
    assert app["api_scopes"] == ["Runs.ReadWrite"] and app["access_token_version"] == 2
    assert script["roles"] == {DEFAULT_CLIENT_ID: ["Central365.Sync"]}
    assert script["public_client"] is False and script["redirect_uris"] == []
    assert http.put("/_sandbox/identity", json=body).json() == body


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"users": [{"name": "A", "username": "a@x", "roles": {DEFAULT_CLIENT_ID: ["Boss"]}}]},
            "unknown role 'Boss'",
        ),
        (
            {"users": [{"name": "A", "username": "a@x", "roles": {"nobody": ["Central365.Sync"]}}]},
            "not a registered app",
        ),
        ({"users": [{"name": "A", "username": "a@x", "roles": ["Central365.Sync"]}]}, "object"),
        ({"users": [{"name": "A", "username": "a@x", "directory_admin": "yes"}]}, "true or false"),
    ],
)
def test_bad_role_assignments_are_refused(
    http: httpx.Client, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        IdentityConfig.from_json(change)
    answer = http.put("/_sandbox/identity", json=change)
    assert answer.status_code == 400 and message in answer.json()["error"]


def test_app_registrations_are_checked() -> None:
    apps = IdentityConfig().to_json()["apps"]
    admin_only = [dict(apps[0]), {**apps[1], "roles": {DEFAULT_CLIENT_ID: ["Central365.Admin"]}}]
    with pytest.raises(ValueError, match="cannot be assigned to members of type Application"):
        IdentityConfig.from_json({"apps": admin_only})
    for field, value, message in (
        ("access_token_version", 3, "access_token_version must be 1 or 2"),
        ("optional_claims", ["groups"], "unsupported optional claims groups"),
        ("delegated", [f"api://{DEFAULT_CLIENT_ID}/Runs.Delete"], "no registered API exposes"),
        ("app_roles", [{"value": "Has space"}], "without spaces"),
        ("app_roles", [{"value": "X", "allowed_member_types": ["Robot"]}], "User, Application"),
    ):
        changed = [{**apps[0], field: value}, apps[1]]
        with pytest.raises(ValueError, match=message):
            IdentityConfig.from_json({"apps": changed, "users": []})


# -- admin consent ----------------------------------------------------------------------------


def consent_link(version: str = "/v2.0", **extra: str) -> str:
    """The Settings page's "Grant admin consent" link (central365.web.scopes.consent_url)."""
    query = {
        "client_id": DEFAULT_CLIENT_ID,
        "scope": "https://graph.microsoft.com/.default",
        "redirect_uri": REDIRECT,
        "state": "s7",
        **extra,
    }
    return f"/{DEFAULT_TENANT_ID}{version}/adminconsent?{urlencode(query)}"


def choose(http: httpx.Client, link: str, user: str, action: str = "signin") -> httpx.Response:
    query = dict(parse_qsl(urlsplit(link).query))
    return http.post(
        urlsplit(link).path, data={**query, "sandbox_user": user, "sandbox_action": action}
    )


def test_admin_consent_page_lists_the_permissions(http: httpx.Client) -> None:
    page = http.get(consent_link())
    assert page.status_code == 200
    for text in ("Contacts.ReadWrite", "User.Read", "Microsoft Graph, application"):
        assert text in page.text
    assert "Sign in as Demo User" in page.text and "Sign in as Read Only" in page.text


def test_admin_consent_accepted_is_recorded_for_everyone(
    http: httpx.Client, identity: IdentityService
) -> None:
    consent = choose(http, consent_link(), DEMO)
    assert consent.status_code == 200 and "Accept" in consent.text
    accepted = choose(http, consent_link(), DEMO, "accept")
    assert accepted.status_code == 302
    location = accepted.headers["location"]
    assert location.startswith(REDIRECT + "?")
    answer = dict(parse_qsl(urlsplit(location).query))
    assert answer == {
        "admin_consent": "True",
        "tenant": DEFAULT_TENANT_ID,
        "scope": "https://graph.microsoft.com/Contacts.ReadWrite "
        "https://graph.microsoft.com/User.Read",
        "state": "s7",
    }
    read_only = identity.config.user(READ_ONLY)
    assert read_only is not None and "Contacts.ReadWrite" in (read_only.consented or ())
    assert "Contacts.ReadWrite" in sign_in(http, READ_ONLY)["scope"].split()


def test_dynamic_admin_consent_adds_the_named_permission(
    http: httpx.Client, identity: IdentityService
) -> None:
    link = consent_link(scope="https://graph.microsoft.com/Contacts.Read.Shared openid")
    accepted = choose(http, link, DEMO, "accept")
    answer = dict(parse_qsl(urlsplit(accepted.headers["location"]).query))
    assert answer["scope"] == "https://graph.microsoft.com/Contacts.Read.Shared openid"
    app = identity.config.app(DEFAULT_CLIENT_ID)
    assert app is not None and app.knows_delegated("Contacts.Read.Shared")


def test_admin_consent_cancelled(http: httpx.Client, identity: IdentityService) -> None:
    before = identity.config
    cancelled = choose(http, consent_link(), DEMO, "cancel")
    answer = dict(parse_qsl(urlsplit(cancelled.headers["location"]).query))
    assert answer["admin_consent"] == "True" and answer["error"] == "consent_required"
    assert answer["error_description"].startswith("AADSTS65004: ")
    assert answer["state"] == "s7"
    v1 = choose(http, consent_link(""), DEMO, "cancel")
    assert dict(parse_qsl(urlsplit(v1.headers["location"]).query)) == {
        "error": "permission_denied",
        "error_description": "The admin canceled the request",
    }
    assert identity.config == before


def test_only_a_directory_admin_may_grant(http: httpx.Client, identity: IdentityService) -> None:
    before = identity.config
    for user in (STAFF, READ_ONLY):
        refused = choose(http, consent_link(), user)
        assert refused.status_code == 403 and "Need admin approval" in refused.text
        assert "AADSTS90094" in refused.text
        forged = choose(http, consent_link(), user, "accept")
        assert forged.status_code == 403
    assert identity.config == before
    v1 = choose(http, consent_link(""), DEMO, "accept")
    assert dict(parse_qsl(urlsplit(v1.headers["location"]).query)) == {
        "tenant": DEFAULT_TENANT_ID,
        "state": "s7",
        "admin_consent": "True",
    }


def test_admin_consent_checks_the_client_and_the_redirect(http: httpx.Client) -> None:
    unknown = http.get(consent_link(client_id="nobody"))
    assert unknown.status_code == 400 and "AADSTS700016" in unknown.text
    elsewhere = http.get(consent_link(redirect_uri="https://evil.test/cb"))
    assert elsewhere.status_code == 400 and "AADSTS50011" in elsewhere.text
    bad_scope = http.get(consent_link(scope=f"api://{DEFAULT_CLIENT_ID}/Runs.Delete"))
    answer = dict(parse_qsl(urlsplit(bad_scope.headers["location"]).query))
    assert answer["error"] == "invalid_client" and "AADSTS650053" in answer["error_description"]
