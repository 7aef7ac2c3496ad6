"""`$batch`: dispatch to the same handlers, validation, dependsOn, 424, shuffling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.faults import FaultConfig
from tests.sandbox.conftest import UNKNOWN_ID, contact_body

JSON = {"Content-Type": "application/json"}


def create(member_id: str, folder_id: str, i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": member_id,
        "method": "POST",
        "url": f"/me/contactFolders/{folder_id}/contacts",
        "headers": JSON,
        "body": contact_body(i),
        **extra,
    }


def by_id(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["responses"]}


def test_members_reach_the_normal_handlers(client: httpx.Client, folder_id: str) -> None:
    created = client.post(f"/me/contactFolders/{folder_id}/contacts", json=contact_body(0)).json()
    requests = [
        create("1", folder_id, 1),
        {
            "id": "2",
            "method": "GET",
            "url": f"/users/demo%40contoso.test/contacts/{created['id']}?$select=surname",
        },
        {
            "id": "3",
            "method": "PATCH",
            "url": f"/me/contactFolders/{folder_id}/contacts/{created['id']}",
            "headers": {**JSON, "Prefer": 'IdType="ImmutableId"'},
            "body": {"jobTitle": "CEO"},
        },
        {"id": "4", "method": "DELETE", "url": f"/me/contacts/{UNKNOWN_ID}"},
        {"id": "5", "method": "GET", "url": f"me/contactFolders/{folder_id}/contacts?$top=1"},
    ]
    answers = by_id(client.post("/$batch", json={"requests": requests}))
    assert answers["1"]["status"] == 201 and answers["1"]["body"]["givenName"] == "Given1"
    assert answers["2"]["status"] == 200
    assert set(answers["2"]["body"]) == {"@odata.context", "@odata.etag", "id", "surname"}
    assert answers["3"]["status"] == 200 and answers["3"]["body"]["jobTitle"] == "CEO"
    assert answers["3"]["headers"]["Preference-Applied"] == 'IdType="ImmutableId"'
    assert answers["4"]["status"] == 404
    assert answers["4"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert answers["5"]["body"]["@odata.nextLink"].startswith("http://sandbox.test/v1.0/me/")


def test_batch_needs_outer_auth(
    app: Starlette, make_client: Callable[..., httpx.Client], folder_id: str
) -> None:
    anonymous = make_client(app, auth=False)
    response = anonymous.post("/$batch", json={"requests": [create("1", folder_id, 1)]})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        (
            [{"id": str(i), "method": "GET", "url": "/me/contacts"} for i in range(21)],
            "limit of 20",
        ),
        (
            [
                {"id": "a", "method": "GET", "url": "/me/contacts"},
                {"id": "A", "method": "GET", "url": "/me/contacts"},
            ],
            "unique",
        ),
        (
            [{"id": "1", "method": "POST", "url": "/me/contacts", "body": {}}],
            "Write request id : 1 does not contain Content-Type header or body.",
        ),
        (
            [{"id": "1", "method": "POST", "url": "/me/contacts", "headers": JSON}],
            "does not contain Content-Type header or body",
        ),
        ([{"id": "1", "method": "GET", "url": "/me/contacts", "dependsOn": ["9"]}], "unknown"),
        ([{"id": "1", "url": "/me/contacts"}], "method"),
        ([], "no requests"),
    ],
)
def test_malformed_batches_are_400(
    client: httpx.Client, requests: list[dict[str, Any]], message: str
) -> None:
    response = client.post("/$batch", json={"requests": requests})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_not_a_batch_body(client: httpx.Client) -> None:
    assert client.post("/$batch", json={"nope": []}).status_code == 400
    assert client.post("/$batch", content=b"[", headers=JSON).status_code == 400
    assert client.get("/$batch").status_code == 405


def test_depends_on_runs_in_order_and_fails_dependants(
    client: httpx.Client, folder_id: str
) -> None:
    bad = create("2", folder_id, 2, dependsOn=["1"])
    bad["body"] = {"businessPhones": ["1", "2", "3"]}
    requests = [
        create("1", folder_id, 1),
        bad,
        create("3", folder_id, 3, dependsOn=["2"]),
        create("4", folder_id, 4, dependsOn=["3"]),
    ]
    answers = by_id(client.post("/$batch", json={"requests": requests}))
    assert [answers[k]["status"] for k in "1234"] == [201, 400, 424, 424]
    listed = client.get(f"/me/contactFolders/{folder_id}/contacts").json()["value"]
    assert [c["givenName"] for c in listed] == ["Given1"]


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        # "1" is listed first but depends on "0": Graph refuses instead of reordering.
        ([("1", ["0"]), ("0", []), ("2", ["1"])], "Invalid dependency for request Id : 1."),
        # chained and unchained members mixed
        ([("0", []), ("1", ["0"]), ("2", [])], "Batch should be either fully sequential or"),
        # a member depending on two others
        ([("0", []), ("1", ["0"]), ("2", ["0", "1"])], "fully sequential or fully parallel."),
    ],
)
def test_dependency_shapes_graph_refuses_are_400(
    client: httpx.Client, folder_id: str, shape: list[tuple[str, list[str]]], message: str
) -> None:
    requests = [
        create(i, folder_id, int(i), **({"dependsOn": deps} if deps else {})) for i, deps in shape
    ]
    response = client.post("/$batch", json={"requests": requests})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    assert message in response.json()["error"]["message"]
    assert client.get(f"/me/contactFolders/{folder_id}/contacts").json()["value"] == []


def test_all_depending_on_the_same_one_is_allowed(client: httpx.Client, folder_id: str) -> None:
    requests = [create("0", folder_id, 0)] + [
        create(str(i), folder_id, i, dependsOn=["0"]) for i in (1, 2)
    ]
    answers = by_id(client.post("/$batch", json={"requests": requests}))
    assert [answers[k]["status"] for k in "012"] == [201, 201, 201]


def test_shuffled_answers_still_match_by_id(
    store: SandboxStore, make_client: Callable[..., httpx.Client]
) -> None:
    app = create_sandbox_app(store, FaultConfig(shuffle_batch_responses=True, seed=3))
    client = make_client(app)
    fid = client.post("/me/contactFolders", json={"displayName": "CRM"}).json()["id"]
    requests = [create(str(i), fid, i) for i in range(8)]
    response = client.post("/$batch", json={"requests": requests})
    order = [r["id"] for r in response.json()["responses"]]
    assert sorted(order, key=int) == [str(i) for i in range(8)] and order != sorted(order, key=int)
    for answer in response.json()["responses"]:
        assert answer["body"]["givenName"] == f"Given{answer['id']}"


def test_absolute_member_url_fails_alone(client: httpx.Client, folder_id: str) -> None:
    requests = [
        {"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me/contacts"},
        {"id": "2", "method": "GET", "url": "/me/contacts"},
    ]
    answers = by_id(client.post("/$batch", json={"requests": requests}))
    assert (answers["1"]["status"], answers["2"]["status"]) == (400, 200)
