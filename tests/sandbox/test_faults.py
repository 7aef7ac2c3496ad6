"""Random and scripted faults, FaultConfig, and the admin API under /_sandbox/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.faults import FaultConfig, FaultKind, FaultRule, FaultScope
from tests.sandbox.conftest import MAILBOX, ROOT, UNKNOWN_ID, contact_body, ctx_of

JSON = {"Content-Type": "application/json"}
Maker = Callable[..., httpx.Client]


def clients(
    store: SandboxStore, make: Maker, config: FaultConfig
) -> tuple[httpx.Client, httpx.Client]:
    app = create_sandbox_app(store, config)
    return make(app), make(app, base_url=f"{ROOT}/_sandbox", auth=False)


def folder_contacts(store: SandboxStore, name: str = "CRM") -> list[dict[str, Any]]:
    (folder,) = [f for f in store.list_folders(MAILBOX) if f["displayName"] == name]
    return store.list_contacts(MAILBOX, folder["id"])


# -- FaultConfig ----------------------------------------------------------------------------


def test_from_options_maps_cli_flags() -> None:
    config = FaultConfig.from_options(
        latency_ms=20,
        throttle=False,
        fault_rate=0.1,
        too_many_objects=True,
        seed=9,
        fault_retry_after=False,
        fault_scope="inner",
    )
    assert config.mailbox_concurrency is None and config.window_requests is None
    assert FaultKind.TOO_MANY_OBJECTS in config.fault_kinds
    assert config.fault_retry_after_s is None and config.fault_scope is FaultScope.INNER
    assert FaultConfig.from_options().mailbox_concurrency == 4


def test_bad_options_name_every_problem() -> None:
    with pytest.raises(ValueError, match=r"latency_ms.*fault_rate"):
        FaultConfig(latency_ms=-1, fault_rate=2.0)
    with pytest.raises(ValueError, match="unknown fault setting"):
        FaultConfig().updated({"nope": 1})
    with pytest.raises(ValueError):
        FaultConfig().updated({"fault_kinds": ["418"]})
    with pytest.raises(ValueError):
        FaultRule(times=1)  # no effect at all


# -- random faults ------------------------------------------------------------------------


def run_random(
    store: SandboxStore, make: Maker, config: FaultConfig, n: int = 40
) -> list[httpx.Response]:
    client, _ = clients(store, make, config)
    return [client.get("/me/contacts") for _ in range(n)]


def test_random_faults_are_seeded_and_reproducible(store: SandboxStore, make_client: Maker) -> None:
    config = FaultConfig(fault_rate=0.5, seed=11)
    first = [r.status_code for r in run_random(store, make_client, config)]
    again = [r.status_code for r in run_random(store, make_client, config)]
    assert first == again
    assert set(first) == {200, 429, 503, 504}
    other = [
        r.status_code for r in run_random(store, make_client, FaultConfig(fault_rate=0.5, seed=12))
    ]
    assert other != first


def test_random_faults_with_and_without_retry_after(
    store: SandboxStore, make_client: Maker
) -> None:
    with_header = run_random(store, make_client, FaultConfig(fault_rate=1.0, fault_retry_after_s=2))
    assert all(r.headers["Retry-After"] == "2" for r in with_header)
    without = run_random(store, make_client, FaultConfig(fault_rate=1.0, fault_retry_after_s=None))
    assert all("Retry-After" not in r.headers for r in without)


def test_too_many_objects_is_a_429_without_retry_after(
    store: SandboxStore, make_client: Maker
) -> None:
    config = FaultConfig(fault_rate=1.0, fault_kinds=(FaultKind.TOO_MANY_OBJECTS,))
    for response in run_random(store, make_client, config, n=3):
        assert response.status_code == 429 and "Retry-After" not in response.headers
        assert response.json()["error"]["code"] == "ErrorTooManyObjectsOpened"


def test_random_fault_scope_inner_only(store: SandboxStore, make_client: Maker) -> None:
    config = FaultConfig(fault_rate=0.5, fault_scope=FaultScope.INNER, seed=1)
    client, admin = clients(store, make_client, config)
    requests = [{"id": str(i), "method": "GET", "url": "/me/contacts"} for i in range(20)]
    for _ in range(3):
        response = client.post("/$batch", json={"requests": requests})
        assert response.status_code == 200
    inner = inner_counts(response)
    assert inner[200] and (inner[429] + inner[503] + inner[504])
    assert all(client.get("/me/contacts").status_code == 200 for _ in range(10))
    assert admin.get("/stats").json()["faults_injected"] > 0


def inner_counts(response: httpx.Response) -> dict[int, int]:
    counts: dict[int, int] = {200: 0, 429: 0, 503: 0, 504: 0}
    for answer in response.json()["responses"]:
        counts[answer["status"]] += 1
    return counts


# -- scripted faults ----------------------------------------------------------------------


def test_scripted_rule_before_processing(store: SandboxStore, make_client: Maker) -> None:
    client, admin = clients(store, make_client, FaultConfig())
    fid = client.post("/me/contactFolders", json={"displayName": "CRM"}).json()["id"]
    rules = [
        {
            "method": "POST",
            "path_contains": "/contacts",
            "status": 429,
            "retry_after": 1,
            "times": 2,
            "inner": False,
        }
    ]
    assert admin.post("/faults/script", json=rules).status_code == 200
    url = f"/me/contactFolders/{fid}/contacts"
    first, second, third = (client.post(url, json=contact_body(i)) for i in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 201)
    assert first.headers["Retry-After"] == "1"
    assert first.json()["error"]["code"] == "TooManyRequests"
    assert len(folder_contacts(store)) == 1
    assert admin.get("/faults/script").json() == []
    assert admin.get("/stats").json()["faults_injected"] == 2


def test_scripted_rule_after_processing(store: SandboxStore, make_client: Maker) -> None:
    client, admin = clients(store, make_client, FaultConfig())
    admin.post(
        "/faults/script",
        json=[
            {
                "method": "POST",
                "status": 503,
                "code": "serviceNotAvailable",
                "after_processing": True,
            }
        ],
    )
    response = client.post("/me/contactFolders", json={"displayName": "CRM"})
    assert response.status_code == 503
    assert [f["displayName"] for f in store.list_folders(MAILBOX)] == ["CRM"]  # it happened


def test_hang_after_processing_times_the_client_out(
    store: SandboxStore, make_client: Maker
) -> None:
    app = create_sandbox_app(store)
    ctx_of(app).faults.script([FaultRule(method="POST", hang_after_processing_s=0.5)])
    client = make_client(app, timeout=0.1)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/me/contactFolders", json={"displayName": "CRM"})
    assert [f["displayName"] for f in store.list_folders(MAILBOX)] == ["CRM"]


def test_drop_after_processing(store: SandboxStore, make_client: Maker) -> None:
    app = create_sandbox_app(store)
    ctx_of(app).faults.script([FaultRule(method="POST", drop=True)])
    client = make_client(app)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/me/contactFolders", json={"displayName": "CRM"})
    assert [f["displayName"] for f in store.list_folders(MAILBOX)] == ["CRM"]
    assert client.get("/me/contactFolders").status_code == 200  # one use only


def test_inner_rule_hits_only_batch_members(store: SandboxStore, make_client: Maker) -> None:
    client, admin = clients(store, make_client, FaultConfig())
    fid = client.post("/me/contactFolders", json={"displayName": "CRM"}).json()["id"]
    admin.post(
        "/faults/script",
        json={
            "rules": [
                {"path_contains": "/contacts", "status": 504, "inner": True, "times": 1},
            ]
        },
    )
    assert client.get(f"/me/contactFolders/{fid}/contacts").status_code == 200
    requests = [
        {
            "id": str(i),
            "method": "POST",
            "url": f"/me/contactFolders/{fid}/contacts",
            "headers": JSON,
            "body": contact_body(i),
        }
        for i in range(3)
    ]
    answers = {
        a["id"]: a for a in client.post("/$batch", json={"requests": requests}).json()["responses"]
    }
    assert [answers[k]["status"] for k in "012"] == [504, 201, 201]
    assert answers["0"]["body"]["error"]["code"] == "GatewayTimeout"


def test_inner_after_processing_rule_and_batch_drop(
    store: SandboxStore, make_client: Maker
) -> None:
    app = create_sandbox_app(store)
    ctx = ctx_of(app)
    client = make_client(app)
    fid = client.post("/me/contactFolders", json={"displayName": "CRM"}).json()["id"]
    requests = [
        {
            "id": str(i),
            "method": "POST",
            "url": f"/me/contactFolders/{fid}/contacts",
            "headers": JSON,
            "body": contact_body(i),
        }
        for i in range(2)
    ]
    ctx.faults.script([FaultRule(status=429, inner=True, after_processing=True, times=1)])
    answers = client.post("/$batch", json={"requests": requests}).json()["responses"]
    assert sorted(a["status"] for a in answers) == [201, 429]
    assert len(folder_contacts(store)) == 2  # the throttled answer hid a successful write
    ctx.faults.script([FaultRule(path_contains="$batch", drop=True, inner=False)])
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/$batch", json={"requests": requests})
    assert len(folder_contacts(store)) == 4


# -- admin API ----------------------------------------------------------------------------


def test_admin_faults_get_and_put(admin: httpx.Client) -> None:
    current = admin.get("/faults").json()
    assert current["mailbox_concurrency"] == 4 and current["script"] == []
    updated = admin.put("/faults", json={"latency_ms": 5, "fault_kinds": ["503"]}).json()
    assert updated["latency_ms"] == 5 and updated["fault_kinds"] == ["503"]
    assert admin.put("/faults", json=updated).status_code == 200  # GET output can be PUT back
    assert admin.put("/faults", json={"fault_rate": 3}).status_code == 400
    assert admin.put("/faults", json={"bogus": 1}).status_code == 400
    assert admin.post("/faults/script", json=[{"times": 1}]).status_code == 400
    assert admin.post("/faults/script", json=[{"status": 500, "nope": 1}]).status_code == 400
    admin.post("/faults/script", json=[{"status": 500, "times": None}])
    assert len(admin.get("/faults/script").json()) == 1
    assert admin.delete("/faults/script").json() == []


def test_admin_stats_reset_and_seed(client: httpx.Client, admin: httpx.Client) -> None:
    assert admin.get("/health").json() == {"status": "ok"}
    seeded = admin.post(
        "/seed", json={"folder": "CRM", "contacts": [contact_body(1), contact_body(2)]}
    )
    assert seeded.status_code == 201 and seeded.json()["seeded"] == 2
    fid = seeded.json()["folder"]["id"]
    assert len(client.get(f"/me/contactFolders/{fid}/contacts").json()["value"]) == 2
    client.post(
        "/$batch",
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": "/me/contacts"},
                {"id": "2", "method": "GET", "url": "/me/contacts"},
            ]
        },
    )
    client.patch(f"/me/contacts/{UNKNOWN_ID}", json={})
    stats = admin.get("/stats").json()
    assert stats["requests"] == 3 and stats["by_method"] == {"GET": 1, "POST": 1, "PATCH": 1}
    assert stats["batches"] == 1 and stats["inner_requests"] == 2
    assert stats["by_status"] == {"200": 2, "404": 1} and stats["inner_by_status"] == {"200": 2}
    assert stats["throttled"] == 0 and stats["faults_injected"] == 0
    assert admin.post("/stats/reset").json()["requests"] == 0
    assert admin.post("/seed", json={"contacts": []}).status_code == 400
    admin.post("/reset")
    assert client.get("/me/contactFolders").json()["value"] == []
    assert admin.get("/stats").json()["requests"] == 1  # admin calls are not counted
