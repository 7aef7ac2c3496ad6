"""The JSON API: plan, start a run, progress — with the session (+ CSRF header) or a bearer token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from central365.web.bearer import BearerVerifier
from tests.web.conftest import ALICE, FOLDER, MAILBOX, Web, World, serve, use_app_only

ISSUER = "https://login.test/tenant-1/v2.0"
CLIENT_ID = "client-id"


def test_plan_json_has_the_counts_and_a_page_of_items(signed_in: Web) -> None:
    data = signed_in.client.get("/api/plan", params={"state": "update"}).json()
    assert data["counts"] == {"new": 2, "update": 1, "unchanged": 1, "non_actionable": 2}
    assert data["excluded"] == 2
    assert data["mailbox"] == MAILBOX
    assert data["folder"]["name"] == FOLDER and data["folder"]["exists"] is True
    assert (data["state"], data["page"], data["pages"], data["matching"]) == ("update", 1, 1, 1)
    (item,) = data["items"]
    assert item["key"] == "2" and item["state"] == "update"
    assert item["changes"] == [
        {"field": "mobilePhone", "from": "07700 900001", "to": "07700 900002"}
    ]
    assert data["made_at"]
    found = signed_in.client.get("/api/plan", params={"state": "non_actionable", "q": "EVE"}).json()
    assert [(i["name"], i["reasons"]) for i in found["items"]] == [
        ("Eve Broken", ["invalid_email"])
    ]
    bad = signed_in.client.get("/api/plan", params={"state": "bogus"})
    assert bad.status_code == 422 and bad.json()["error"] == "The request is not valid."


def test_a_run_from_the_api_needs_the_csrf_header_with_a_session(signed_in: Web) -> None:
    refused = signed_in.client.post("/api/runs", json={"keys": ["1"]})
    assert refused.status_code == 403
    token = signed_in.csrf()
    started = signed_in.client.post(
        "/api/runs", json={"keys": ["1"]}, headers={"X-CSRF-Token": token}
    )
    assert started.status_code == 202
    run_id = started.json()["id"]
    assert started.json()["url"] == f"/runs/{run_id}"
    signed_in.wait_run(run_id)
    run = signed_in.client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "finished"
    assert (run["total"], run["done"], run["created"], run["failed"]) == (1, 1, 1, 0)
    assert [o["key"] for o in run["outcomes"]] == ["1"]
    assert run["failures"] == []
    assert run["started_by"] == f"Alice Admin ({MAILBOX})"
    assert signed_in.client.get("/api/runs/999").status_code == 404


def test_states_must_be_actionable(signed_in: Web) -> None:
    token = signed_in.csrf()
    response = signed_in.client.post(
        "/api/runs", json={"states": ["unchanged"]}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 400
    assert "Only the records new to Office 365" in response.json()["error"]


# -- bearer tokens ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_of(key: rsa.RSAPrivateKey, kid: str = "test-key") -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS256"}]}


def bearer_token(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": f"api://{CLIENT_ID}",
        "tid": ALICE.tenant_id,
        "oid": ALICE.oid,
        "name": ALICE.name,
        "preferred_username": ALICE.username,
        "scp": "Runs.ReadWrite",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **overrides,
    }
    kid = claims.pop("kid", "test-key")
    present = {name: value for name, value in claims.items() if value is not None}  # None: drop
    return jwt.encode(present, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def api(world: World, signing_key: rsa.RSAPrivateKey) -> Iterator[Web]:
    world.bearer = BearerVerifier(
        issuer=ISSUER,
        audiences=[CLIENT_ID, f"api://{CLIENT_ID}"],
        jwks=lambda: jwks_of(signing_key),
    )
    for web in serve(world.app()):
        web.sign_in("alice")  # once, so central365 holds Alice's Microsoft sign-in
        web.client.cookies.clear()
        yield web


def test_a_bearer_token_reads_the_plan_and_starts_a_run_without_csrf(
    api: Web, signing_key: rsa.RSAPrivateKey, world: World
) -> None:
    headers = {"Authorization": f"Bearer {bearer_token(signing_key)}"}
    plan = api.client.get("/api/plan", headers=headers)
    assert plan.status_code == 200, plan.text
    assert plan.json()["counts"]["new"] == 2
    started = api.client.post("/api/runs", json={"states": ["new"]}, headers=headers)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    api.wait_run(run_id)
    progress = api.client.get(f"/api/runs/{run_id}", headers=headers).json()
    assert (progress["created"], progress["status"]) == (2, "finished")
    emails = {a["address"] for c in world.folder() for a in c["emailAddresses"]}
    assert {"ada@example.com", "hacker@example.com"} <= emails


def test_a_bearer_token_does_not_open_the_pages(api: Web, signing_key: rsa.RSAPrivateKey) -> None:
    response = api.client.get("/", headers={"Authorization": f"Bearer {bearer_token(signing_key)}"})
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"aud": "someone-else"}, "not issued for central365"),
        ({"iss": "https://evil.test/v2.0"}, "another authority"),
        ({"kid": "unknown-key"}, "does not list"),
    ],
)
def test_bad_bearer_tokens_are_refused(
    api: Web, signing_key: rsa.RSAPrivateKey, overrides: dict[str, Any], message: str
) -> None:
    token = bearer_token(signing_key, **overrides)
    response = api.client.get("/api/plan", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert message in response.json()["error"]
    assert token not in response.text


def test_a_token_signed_by_another_key_is_refused(api: Web) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = bearer_token(other)
    response = api.client.get("/api/plan", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "InvalidSignatureError" in response.json()["error"]


def test_an_unsigned_token_is_refused(api: Web) -> None:
    token = jwt.encode({"iss": ISSUER, "aud": CLIENT_ID, "oid": "x"}, key=None, algorithm="none")
    response = api.client.get("/api/plan", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


# -- what a token must be: an access token for this API, from this tenant -------------------------


def app_token(key: rsa.RSAPrivateKey, roles: list[str], **overrides: Any) -> str:
    """A client-credentials token for the API, as Entra issues it to a script's app."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": f"api://{CLIENT_ID}",
        "tid": ALICE.tenant_id,
        "oid": "oid-script",
        "sub": "oid-script",
        "azp": "script-client",
        "idtyp": "app",
        "roles": roles,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-key"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_of_another_tenant_is_refused(api: Web, signing_key: rsa.RSAPrivateKey) -> None:
    token = bearer_token(signing_key, tid="tenant-evil", oid="oid-mallory")
    response = api.client.post("/api/runs", json={"states": ["new"]}, headers=bearer(token))
    assert response.status_code == 401
    assert "another organisation" in response.json()["error"]
    assert api.runtime.runs.count() == 0


def test_a_multi_tenant_issuer_still_refuses_a_tenant_not_allowed(
    world: World, signing_key: rsa.RSAPrivateKey
) -> None:
    """With an allow-list the authority is `organizations`: every `tid` is checked."""
    world.settings = world.settings.model_copy(
        update={"tenant_id": None, "tenants": ("tenant-1", "tenant-2")}
    )
    world.bearer = BearerVerifier(
        issuer="https://login.test/{tenantid}/v2.0",
        audiences=[CLIENT_ID, f"api://{CLIENT_ID}"],
        jwks=lambda: jwks_of(signing_key),
    )
    for web in serve(world.app()):
        evil = bearer_token(
            signing_key, tid="tenant-evil", iss="https://login.test/tenant-evil/v2.0"
        )
        assert web.client.get("/api/plan", headers=bearer(evil)).status_code == 401
        other = bearer_token(signing_key, tid="tenant-2", iss="https://login.test/tenant-2/v2.0")
        refused = web.client.get("/api/runs/1", headers=bearer(other))
        assert refused.status_code == 404  # verified and allowed; there is just no run 1


@pytest.mark.parametrize("roles", [None, ["Central365.Admin"]])
def test_an_id_token_is_refused(
    api: Web, signing_key: rsa.RSAPrivateKey, roles: list[str] | None
) -> None:
    """An ID token has the client id as audience too, and may carry the person's roles."""
    claims: dict[str, Any] = {"aud": CLIENT_ID, "sub": "pairwise-sub", "nonce": "n", "scp": None}
    if roles:
        claims["roles"] = roles
    token = bearer_token(signing_key, **claims)
    response = api.client.get("/api/plan", headers=bearer(token))
    assert response.status_code == 401
    assert "not an access token for the central365 API" in response.json()["error"]


def test_a_token_without_the_apis_scope_is_refused(
    api: Web, signing_key: rsa.RSAPrivateKey
) -> None:
    token = bearer_token(signing_key, scp="User.Read Contacts.ReadWrite")
    response = api.client.get("/api/plan", headers=bearer(token))
    assert response.status_code == 403
    assert "Runs.ReadWrite" in response.json()["error"]


def test_an_app_token_acts_only_in_app_only_mode_and_only_with_a_role(
    api: Web, signing_key: rsa.RSAPrivateKey, world: World
) -> None:
    sync = bearer(app_token(signing_key, ["Central365.Sync"]))
    delegated = api.client.get("/api/plan", headers=sync)
    assert delegated.status_code == 403
    assert "app-only access" in delegated.json()["error"]
    use_app_only(api, MAILBOX)
    plan = api.client.get("/api/plan", headers=sync)
    assert plan.status_code == 200, plan.text
    assert plan.json()["mailbox"] == MAILBOX
    started = api.client.post("/api/runs", json={"keys": ["1"]}, headers=sync)
    assert started.status_code == 202, started.text
    api.wait_run(started.json()["id"])
    assert "ada@example.com" in {a["address"] for c in world.folder() for a in c["emailAddresses"]}
    other_role = api.client.get(
        "/api/plan", headers=bearer(app_token(signing_key, ["Something.Else"]))
    )
    assert other_role.status_code == 403
    assert "Central365.Sync" in other_role.json()["error"]
    assert other_role.json()["role_needed"] == "Central365.Sync"
    no_roles = api.client.get("/api/plan", headers=bearer(app_token(signing_key, [])))
    assert no_roles.status_code == 401


def test_a_bearer_callers_roles_come_from_the_token(
    api: Web, signing_key: rsa.RSAPrivateKey
) -> None:
    others = api.runtime.runs.start(
        started_by="x", mailbox="someone@contoso.test", folder_name=FOLDER, selected=1
    )
    plain = bearer(bearer_token(signing_key))
    assert api.client.get(f"/api/runs/{others.id}", headers=plain).status_code == 403
    admin = bearer(bearer_token(signing_key, roles=["Central365.Admin"]))
    assert api.client.get(f"/api/runs/{others.id}", headers=admin).status_code == 200
