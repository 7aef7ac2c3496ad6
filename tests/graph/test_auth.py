from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import msal
import pytest

from central365.core.errors import AuthFailed
from central365.graph.auth import (
    APP_SCOPES,
    ClientCredentialsAuth,
    DeviceCodeAuth,
    StaticTokenAuth,
    certificate_credential,
    pfx_credential,
)
from tests.graph.conftest import ClientFactory
from tests.graph.fakegraph import BASE, odata_error

SECRET = "s3cr3t-value"


class FakeConfidentialApp:
    def __init__(self, results: list[Mapping[str, Any]]) -> None:
        self.results = results
        self.calls: list[list[str]] = []
        self.removed = 0

    def acquire_token_for_client(self, scopes: list[str]) -> Mapping[str, Any]:
        self.calls.append(scopes)
        return self.results.pop(0)

    def remove_tokens_for_client(self) -> None:
        self.removed += 1


def _graph_requiring(valid: set[str], seen: list[str]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers.get("Authorization", "")
        seen.append(token)
        if token.removeprefix("Bearer ") in valid:
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(401, json=odata_error("InvalidAuthenticationToken", "Token expired."))

    return handler


def test_static_token() -> None:
    auth = StaticTokenAuth(" abc ")
    request = httpx.Request("GET", BASE)
    flow = auth.sync_auth_flow(request)
    assert next(flow).headers["Authorization"] == "Bearer abc"
    assert "abc" not in repr(auth)
    with pytest.raises(ValueError, match="empty"):
        StaticTokenAuth("  ")


def test_credentials_helpers() -> None:
    assert certificate_credential("PEM", "AB12") == {"private_key": "PEM", "thumbprint": "AB12"}
    assert certificate_credential("PEM", "AB12", "pw")["passphrase"] == "pw"
    assert pfx_credential(Path("/x/c.pfx"), "pw") == {
        "private_key_pfx_path": "/x/c.pfx",
        "passphrase": "pw",
    }


def test_client_credentials_refreshes_once_on_401(make_client: ClientFactory) -> None:
    app = FakeConfidentialApp([{"access_token": "old"}, {"access_token": "new"}])
    auth = ClientCredentialsAuth("tenant", "client", SECRET, app_factory=lambda: app)
    seen: list[str] = []
    client = make_client(_graph_requiring({"new"}, seen), auth=auth)
    assert client.get(f"{BASE}/users/x") == {"ok": True}
    assert seen == ["Bearer old", "Bearer new"]
    assert app.removed == 1
    assert app.calls == [list(APP_SCOPES)] * 2
    assert auth.authority == "https://login.microsoftonline.com/tenant"


def test_client_credentials_second_401_is_auth_failed(make_client: ClientFactory) -> None:
    app = FakeConfidentialApp([{"access_token": "a"}, {"access_token": "b"}])
    auth = ClientCredentialsAuth("t", "c", SECRET, app_factory=lambda: app)
    seen: list[str] = []
    with pytest.raises(AuthFailed, match="Token expired"):
        make_client(_graph_requiring(set(), seen), auth=auth).get(f"{BASE}/users/x")
    assert len(seen) == 2


def test_failed_acquisition_names_the_error_but_not_the_secret(make_client: ClientFactory) -> None:
    app = FakeConfidentialApp(
        [{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}]
    )
    auth = ClientCredentialsAuth("t", "c", SECRET, app_factory=lambda: app)
    with pytest.raises(AuthFailed) as info:
        make_client(_graph_requiring(set(), []), auth=auth).get(f"{BASE}/users/x")
    assert "invalid_client" in info.value.message and "AADSTS7000215" in info.value.message
    assert SECRET not in info.value.full_message()
    assert SECRET not in repr(auth)


def test_msal_exceptions_become_auth_failed() -> None:
    def broken() -> FakeConfidentialApp:
        raise ValueError("bad certificate")

    auth = ClientCredentialsAuth(
        "t", "c", {"private_key": "x", "thumbprint": "y"}, app_factory=broken
    )
    with pytest.raises(AuthFailed, match="ValueError"):
        auth.token()


def test_real_msal_client_credentials_over_a_fake_authority(make_client: ClientFactory) -> None:
    """The real ConfidentialClientApplication, its HTTP answered in-process (no network)."""
    host = "https://login.example.test"
    token_calls: list[dict[str, list[str]]] = []

    def authority(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "authorization_endpoint": f"{host}/tenant/oauth2/v2.0/authorize",
                    "token_endpoint": f"{host}/tenant/oauth2/v2.0/token",
                    "issuer": f"{host}/tenant/v2.0",
                },
            )
        if path.endswith("/oauth2/v2.0/token"):
            from urllib.parse import parse_qs

            token_calls.append(parse_qs(request.content.decode()))
            return httpx.Response(
                200,
                json={
                    "access_token": f"tok{len(token_calls)}",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                },
            )
        if "discovery/instance" in path:
            return httpx.Response(
                200,
                json={
                    "tenant_discovery_endpoint": f"{host}/tenant/v2.0/.well-known/openid-configuration"
                },
            )
        return httpx.Response(404)

    with httpx.Client(transport=httpx.MockTransport(authority)) as msal_http:
        auth = ClientCredentialsAuth(
            "tenant", "client-id", SECRET, authority_host=host, http_client=msal_http
        )
        seen: list[str] = []
        client = make_client(_graph_requiring({"tok1"}, seen), auth=auth)
        client.get(f"{BASE}/users/x")
        client.get(f"{BASE}/users/x")
        assert seen == ["Bearer tok1", "Bearer tok1"]  # cached by MSAL
        assert len(token_calls) == 1
        assert token_calls[0]["scope"] == ["https://graph.microsoft.com/.default"]
        assert token_calls[0]["grant_type"] == ["client_credentials"]


class FakePublicApp:
    def __init__(self, cache: Any, cached_account: bool) -> None:
        self.cache = cache
        self.accounts = [{"username": "u@contoso.com"}] if cached_account else []
        self.flows = 0
        self.silent: list[bool] = []

    def get_accounts(self, username: str | None = None) -> Sequence[Mapping[str, Any]]:
        return self.accounts

    def acquire_token_silent(
        self, scopes: list[str], account: Mapping[str, Any] | None, force_refresh: bool = False
    ) -> Mapping[str, Any] | None:
        self.silent.append(force_refresh)
        return {"access_token": "silent"}

    def initiate_device_flow(self, scopes: list[str]) -> Mapping[str, Any]:
        assert scopes == ["Contacts.ReadWrite"]
        return {
            "user_code": "ABC",
            "message": "Go to https://microsoft.com/devicelogin and enter ABC",
        }

    def acquire_token_by_device_flow(self, flow: Mapping[str, Any]) -> Mapping[str, Any]:
        self.flows += 1
        self.cache.has_state_changed = True  # as MSAL does when it stores the tokens
        return {"access_token": "device"}


def test_device_code_signs_in_once_and_persists_the_cache(tmp_path: Path) -> None:
    shown: list[str] = []
    apps: list[FakePublicApp] = []
    cache_file = tmp_path / "sub" / "tokens.json"

    def factory(cache: Any) -> FakePublicApp:
        assert isinstance(cache, msal.SerializableTokenCache)
        apps.append(FakePublicApp(cache, cached_account=cache_file.exists()))
        return apps[-1]

    auth = DeviceCodeAuth(
        "organizations", "cid", cache_file, show=shown.append, app_factory=factory
    )
    assert auth.token() == "device"
    assert shown == ["Go to https://microsoft.com/devicelogin and enter ABC"]
    assert stat.S_IMODE(os.stat(cache_file).st_mode) == 0o600
    json.loads(cache_file.read_text())
    before = cache_file.stat().st_mtime_ns

    again = DeviceCodeAuth(
        "organizations", "cid", cache_file, show=shown.append, app_factory=factory
    )
    assert again.token() == "silent"
    assert again.token(force_refresh=True) == "silent"
    assert apps[-1].silent == [False, True]
    assert len(shown) == 1
    assert cache_file.stat().st_mtime_ns == before  # unchanged cache is not rewritten


def test_device_flow_that_cannot_start_is_auth_failed(tmp_path: Path) -> None:
    class NoFlow(FakePublicApp):
        def initiate_device_flow(self, scopes: list[str]) -> Mapping[str, Any]:
            return {
                "error": "invalid_client",
                "error_description": "AADSTS7000218: public client flows disabled",
            }

    auth = DeviceCodeAuth(
        "t", "c", None, show=print, app_factory=lambda cache: NoFlow(cache, False)
    )
    with pytest.raises(AuthFailed, match="AADSTS7000218"):
        auth.sign_in()


def test_me_is_named_by_the_signed_in_account_for_the_run_lock(tmp_path: Path) -> None:
    """`sync` with device sign-in locks the same mailbox folder the homepage locks for them."""
    from central365.config import Settings
    from central365.wiring.connection import SignInMode
    from central365.wiring.open import mailbox_identity
    from central365.wiring.settings import connection_from_settings

    shown: list[str] = []
    auth = DeviceCodeAuth(
        "organizations",
        "cid",
        tmp_path / "tokens.json",
        show=shown.append,
        app_factory=lambda cache: FakePublicApp(cache, cached_account=True),
    )
    device = Settings(auth=SignInMode.DEVICE, client_id="cid", mailbox="me")
    assert mailbox_identity(connection_from_settings(device), auth) == "u@contoso.com"
    named = Settings(auth=SignInMode.DEVICE, client_id="cid", mailbox="shared@contoso.com")
    assert mailbox_identity(connection_from_settings(named), auth) == "shared@contoso.com"
