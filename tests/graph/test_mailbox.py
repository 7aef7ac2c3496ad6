from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from central365.core.errors import Conflict, GraphError, Throttled
from central365.core.model import FolderInfo
from central365.graph import GraphFolder, GraphMailbox, StaticTokenAuth, connect
from central365.graph.batch import IMMUTABLE_ID_PREFER, BatchStrategy
from central365.graph.throttle import RetryPolicy
from tests.graph.conftest import ClientFactory
from tests.graph.fakegraph import BASE

ME = "/v1.0/me/contactFolders"


def folders_handler(seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    """Folders A (child A1, grandchild A1a) and B; A's children come in two pages."""
    children: dict[str, list[dict[str, Any]]] = {
        "A": [
            {
                "value": [{"id": "A1", "displayName": "A1", "parentFolderId": "A"}],
                "@odata.nextLink": f"{BASE}/me/contactFolders/A/childFolders?%24skip=1",
            },
            {"value": [{"id": "A2", "displayName": "A2", "parentFolderId": "A"}]},
        ],
        "A1": [{"value": [{"id": "A1a", "displayName": "A1a", "parentFolderId": "A1"}]}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == ME and request.method == "GET":
            flt = request.url.params.get("$filter")
            rows = [
                {"id": "A", "displayName": "CRM", "parentFolderId": "root"},
                {"id": "B", "displayName": "O'Hara", "parentFolderId": "root"},
                {"id": "C", "displayName": "Twice", "parentFolderId": "root"},
                {"id": "D", "displayName": "Twice", "parentFolderId": "root"},
            ]
            if flt:
                name = flt.split("eq '", 1)[1][:-1].replace("''", "'")
                rows = [r for r in rows if r["displayName"] == name]
            return httpx.Response(200, json={"value": rows})
        if path == ME and request.method == "POST":
            body = json.loads(request.content)
            return httpx.Response(
                201,
                json={"id": "NEW", "displayName": body["displayName"], "parentFolderId": "root"},
            )
        if path.endswith("/childFolders"):
            fid = path.split("/")[-2]
            pages = children.get(fid, [{"value": []}])
            skip = int(request.url.params.get("$skip", "0"))
            return httpx.Response(200, json=pages[skip])
        return httpx.Response(404)

    return handler


def test_folders_walks_child_folders_and_pages(make_client: ClientFactory) -> None:
    seen: list[httpx.Request] = []
    mailbox = GraphMailbox(make_client(folders_handler(seen), mailbox="me"))
    ids = [f.id for f in mailbox.folders()]
    assert ids == ["A", "A1", "A1a", "A2", "B", "C", "D"]
    assert mailbox.name == "me"
    assert all(r.headers["Prefer"] == IMMUTABLE_ID_PREFER for r in seen)


def test_find_folder(make_client: ClientFactory) -> None:
    seen: list[httpx.Request] = []
    mailbox = GraphMailbox(make_client(folders_handler(seen), mailbox="me"))
    assert mailbox.find_folder("CRM") == FolderInfo("A", "CRM", "root")
    assert mailbox.find_folder("O'Hara") == FolderInfo("B", "O'Hara", "root")
    assert "displayName eq 'O''Hara'" in unquote(str(seen[-1].url))
    assert mailbox.find_folder("Nope") is None
    with pytest.raises(Conflict, match="C, D"):
        mailbox.find_folder("Twice")


def test_create_folder_and_folder(make_client: ClientFactory) -> None:
    seen: list[httpx.Request] = []
    mailbox = GraphMailbox(
        make_client(folders_handler(seen), mailbox="me"), strategy=BatchStrategy.ONE_UNORDERED
    )
    info = mailbox.create_folder("CRM 2")
    assert info == FolderInfo("NEW", "CRM 2", "root")
    assert json.loads(seen[-1].content) == {"displayName": "CRM 2"}
    folder = mailbox.folder(info)
    assert isinstance(folder, GraphFolder) and folder.info is info


def test_create_folder_without_id_is_an_error(make_client: ClientFactory) -> None:
    mailbox = GraphMailbox(make_client(lambda r: httpx.Response(201, json={}), mailbox="me"))
    with pytest.raises(GraphError, match="did not return its id"):
        mailbox.create_folder("X")


def test_connect_owns_and_closes_its_client() -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(folders_handler(seen))
    with connect(BASE, "me", StaticTokenAuth("abc"), timeout=5, transport=transport) as mailbox:
        assert mailbox.find_folder("CRM") is not None
    with pytest.raises(RuntimeError, match="closed"):
        mailbox.find_folder("CRM")
    assert seen[0].headers["Authorization"] == "Bearer abc"


def test_connect_accepts_a_ca_bundle_path() -> None:
    import certifi

    mailbox = connect(BASE, "me", StaticTokenAuth("abc"), verify=certifi.where())
    mailbox.close()


def creation_handler(
    answers: list[httpx.Response], made: list[str]
) -> Callable[[httpx.Request], httpx.Response]:
    """POST answers the scripted faults first; `made` holds the folders really created."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            name = json.loads(request.content)["displayName"]
            if answers:
                answer = answers.pop(0)
                if answer.status_code == 299:  # created, then the answer was a 503
                    made.append(name)
                    return httpx.Response(503, json={"error": {"code": "serviceNotAvailable"}})
                return answer
            made.append(name)
            return httpx.Response(201, json={"id": f"F{len(made)}", "displayName": name})
        rows = [{"id": f"F{n + 1}", "displayName": name} for n, name in enumerate(made)]
        flt = request.url.params.get("$filter", "")
        return httpx.Response(200, json={"value": [r for r in rows if r["displayName"] in flt]})

    return handler


BUSY = httpx.Response(503, headers={"Retry-After": "2"}, json={"error": {"code": "x"}})


@pytest.mark.parametrize(
    "faults",
    [
        [BUSY],
        [httpx.Response(504)],
        [httpx.Response(429, headers={"Retry-After": "1"})],
        [BUSY, httpx.Response(429), BUSY],
    ],
)
def test_create_folder_retries_transient_answers(
    make_client: ClientFactory, faults: list[httpx.Response]
) -> None:
    made: list[str] = []
    mailbox = GraphMailbox(make_client(creation_handler(list(faults), made), mailbox="me"))
    info = mailbox.create_folder("CRM")
    assert info.display_name == "CRM" and made == ["CRM"]


def test_a_folder_created_behind_a_503_is_found_not_created_twice(
    make_client: ClientFactory,
) -> None:
    made: list[str] = []
    seen: list[httpx.Request] = []
    handler = creation_handler([httpx.Response(299)], made)
    mailbox = GraphMailbox(make_client(lambda r: seen.append(r) or handler(r), mailbox="me"))
    info = mailbox.create_folder("CRM")
    assert info.id == "F1" and made == ["CRM"]
    assert [r.method for r in seen] == ["POST", "GET"]


def test_a_folder_that_exists_already_is_found(make_client: ClientFactory) -> None:
    made = ["CRM"]
    exists = httpx.Response(409, json={"error": {"code": "ErrorFolderExists", "message": "x"}})
    mailbox = GraphMailbox(make_client(creation_handler([exists], made), mailbox="me"))
    assert mailbox.create_folder("CRM").id == "F1"


def test_folder_creation_gives_up_after_its_attempts_when_never_created(
    make_client: ClientFactory,
) -> None:
    made: list[str] = []
    mailbox = GraphMailbox(
        make_client(creation_handler([BUSY] * 5, made), mailbox="me", policy=RetryPolicy(3))
    )
    with pytest.raises(Throttled, match="did not do the new contacts folder"):
        mailbox.create_folder("CRM")
    assert made == []


def test_folder_creation_refused_is_not_retried(make_client: ClientFactory) -> None:
    made: list[str] = []
    bad = httpx.Response(400, json={"error": {"code": "ErrorInvalidIdMalformed", "message": "m"}})
    mailbox = GraphMailbox(make_client(creation_handler([bad], made), mailbox="me"))
    with pytest.raises(GraphError, match="ErrorInvalidIdMalformed"):
        mailbox.create_folder("CRM")
    assert made == []
