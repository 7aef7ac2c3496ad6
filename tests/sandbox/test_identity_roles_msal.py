"""Real msal-python against the sandbox: app roles, the app's own API, the script's app token.

The same production code path as test_identity_msal.py (authority, `instance_discovery=False`,
the sandbox's CA); here msal acquires tokens for the app's own API next to Graph's.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import jwt
import msal
import pytest
import requests

from central365.sandbox.identity import (
    DEFAULT_CLIENT_ID,
    DEFAULT_TENANT_ID,
    SCRIPT_CLIENT_ID,
    SCRIPT_CLIENT_SECRET,
)
from central365.sandbox.server import SandboxServer
from tests.sandbox import test_identity_msal as base
from tests.sandbox.test_identity_msal import SCOPES, sign_in, web_app

pytestmark = pytest.mark.e2e  # real processes on real ports

# The TLS sandbox, msal's requests session and the person's browser, as in the base module.
sandbox = base.sandbox
session = base.session
browser = base.browser

API_SCOPES = [f"api://{DEFAULT_CLIENT_ID}/Runs.ReadWrite"]


def claims_of(encoded: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(encoded, options={"verify_signature": False})
    return decoded


def test_silent_api_token_after_a_graph_sign_in(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    app = web_app(sandbox, session)
    signed_in = sign_in(app, browser, "Demo User")
    assert signed_in["id_token_claims"]["roles"] == ["Central365.Admin"]
    (account,) = app.get_accounts()
    api = app.acquire_token_silent(API_SCOPES, account=account)
    assert api is not None and api["token_source"] == "identity_provider", api
    claims = claims_of(api["access_token"])
    assert claims["aud"] == DEFAULT_CLIENT_ID and claims["scp"] == "Runs.ReadWrite"
    assert claims["roles"] == ["Central365.Admin"] and claims["tid"] == DEFAULT_TENANT_ID
    again = app.acquire_token_silent(API_SCOPES, account=account)
    assert again is not None and again["token_source"] == "cache"
    assert again["access_token"] == api["access_token"]
    graph = app.acquire_token_silent(SCOPES, account=account)
    assert graph is not None and graph["access_token"] == signed_in["access_token"]


def test_a_user_without_a_role_gets_none(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    app = web_app(sandbox, session)
    signed_in = sign_in(app, browser, "Staff User")
    assert "roles" not in signed_in["id_token_claims"]
    assert "Contacts.ReadWrite" in signed_in["scope"]
    (account,) = app.get_accounts()
    api = app.acquire_token_silent(API_SCOPES, account=account)
    assert api is not None and "roles" not in claims_of(api["access_token"])


def test_two_resources_in_one_request_are_refused(
    sandbox: SandboxServer, session: requests.Session, browser: httpx.Client
) -> None:
    app = web_app(sandbox, session)
    sign_in(app, browser, "Demo User")
    (account,) = app.get_accounts()
    refused = app.acquire_token_silent_with_error(
        [*SCOPES, *API_SCOPES], account=account, force_refresh=True
    )
    assert refused is not None and refused["error"] == "invalid_scope", refused
    assert refused["error_codes"] == [28000]


def test_the_script_gets_its_app_role_by_client_credentials(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    script = msal.ConfidentialClientApplication(
        SCRIPT_CLIENT_ID,
        client_credential=SCRIPT_CLIENT_SECRET,
        authority=sandbox.authority(DEFAULT_TENANT_ID),
        http_client=session,
        instance_discovery=False,
    )
    result = script.acquire_token_for_client(scopes=[f"api://{DEFAULT_CLIENT_ID}/.default"])
    assert "access_token" in result, result
    claims = claims_of(result["access_token"])
    assert claims["roles"] == ["Central365.Sync"] and "scp" not in claims
    assert claims["aud"] == DEFAULT_CLIENT_ID and claims["azp"] == SCRIPT_CLIENT_ID
    assert claims["idtyp"] == "app"
    # The token verifies against the keys the sandbox publishes, as an API would check it.
    keys = jwt.PyJWKClient(
        f"{sandbox.root_url}/{DEFAULT_TENANT_ID}/discovery/v2.0/keys",
        ssl_context=ssl.create_default_context(cafile=str(sandbox.ca_path)),
    )
    key = keys.get_signing_key_from_jwt(result["access_token"])
    verified = jwt.decode(
        result["access_token"],
        key.key,
        algorithms=["RS256"],
        audience=DEFAULT_CLIENT_ID,
        issuer=f"{sandbox.root_url}/{DEFAULT_TENANT_ID}/v2.0",
    )
    assert verified["roles"] == ["Central365.Sync"]
