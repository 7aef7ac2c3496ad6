"""A group's mailboxes: `groups/{id}/transitiveMembers` through the Graph client.

Against the in-process sandbox (nested groups, tokens without the permission, unknown groups)
and a scripted transport for what the sandbox never sends (several pages, devices).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from central365.core.errors import AuthFailed, NotFound
from central365.graph import StaticTokenAuth
from central365.graph.client import GraphClient
from central365.graph.groups import GroupUser, group_users
from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.identity import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID,
    IdentityConfig,
    IdentityService,
)
from central365.sandbox.identity.groups import derived_group_id
from central365.sandbox.identity.registry import RegisteredApp, derived_oid
from central365.sandbox.transport import InProcessTransport
from central365.wiring.open import BorrowedTransport

ROOT = "http://sandbox.test"
BASE = f"{ROOT}/v1.0"
STAFF, MANAGERS = derived_group_id("Staff"), derived_group_id("Managers")
PEOPLE = ("ann", "bob", "cat", "dan")


def directory(*application: str) -> IdentityConfig:
    """Four people; Staff = ann, bob and the Managers group (cat, bob, and Staff again)."""
    base = IdentityConfig()
    app = RegisteredApp(
        client_id=DEFAULT_CLIENT_ID,
        secrets=(DEFAULT_CLIENT_SECRET,),
        application=("Contacts.ReadWrite", *application),
        public_client=False,
    )
    return base.updated(
        {
            "apps": [
                {
                    "client_id": app.client_id,
                    "secrets": list(app.secrets),
                    "application": list(app.application),
                    "public_client": False,
                }
            ],
            "users": [{"name": p.title(), "username": f"{p}@contoso.test"} for p in PEOPLE],
            "groups": [
                {
                    "display_name": "Staff",
                    "members": ["ann@contoso.test", "bob@contoso.test", MANAGERS],
                },
                {
                    "display_name": "Managers",
                    "members": ["cat@contoso.test", "BOB@contoso.test", STAFF],
                },
            ],
        }
    )


class Directory:
    def __init__(self, config: IdentityConfig) -> None:
        self.identity = IdentityService(config)
        app = create_sandbox_app(SandboxStore(), identity=self.identity)
        self.transport = InProcessTransport(app)
        self.http = httpx.Client(transport=self.transport, base_url=ROOT)

    def app_token(self) -> str:
        answer = self.http.post(
            f"/{DEFAULT_TENANT_ID}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "scope": "https://graph.microsoft.com/.default",
            },
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def client(self, token: str = "sandbox-token") -> GraphClient:
        http = httpx.Client(
            transport=BorrowedTransport(self.transport), auth=StaticTokenAuth(token), base_url=ROOT
        )
        return GraphClient(http, BASE, "me")


@pytest.fixture
def sandbox() -> Iterator[Directory]:
    made = Directory(directory())
    yield made
    made.http.close()


def upns(users: list[GroupUser]) -> list[str]:
    return [u.user_principal_name for u in users]


def test_nested_members_are_flattened_users_only_each_once(sandbox: Directory) -> None:
    users = group_users(sandbox.client(), STAFF)
    assert upns(users) == ["ann@contoso.test", "bob@contoso.test", "cat@contoso.test"]
    assert users[0].id == derived_oid("user", "ann@contoso.test")
    assert upns(group_users(sandbox.client(), MANAGERS)) == [
        "cat@contoso.test",
        "bob@contoso.test",
        "ann@contoso.test",
    ]


def test_the_sandbox_pages_members_and_lists_nested_groups(sandbox: Directory) -> None:
    seen: list[dict[str, Any]] = []
    url: str | None = f"{BASE}/groups/{STAFF}/transitiveMembers?$top=2"
    pages = 0
    while url:
        body = sandbox.http.get(url, headers={"Authorization": "Bearer x"}).json()
        seen += body["value"]
        url = body.get("@odata.nextLink")
        pages += 1
    assert pages == 2
    assert [(m["@odata.type"], m.get("userPrincipalName")) for m in seen] == [
        ("#microsoft.graph.group", None),
        ("#microsoft.graph.user", "ann@contoso.test"),
        ("#microsoft.graph.user", "bob@contoso.test"),
        ("#microsoft.graph.user", "cat@contoso.test"),
    ]
    cast = sandbox.http.get(
        f"{BASE}/groups/{STAFF}/transitiveMembers/microsoft.graph.user",
        headers={"Authorization": "Bearer x"},
    ).json()
    assert {m["@odata.type"] for m in cast["value"]} == {"#microsoft.graph.user"}


def test_an_app_without_group_member_read_all_is_refused_like_graph() -> None:
    refused = Directory(directory())
    raw = refused.http.get(
        f"{BASE}/groups/{STAFF}/transitiveMembers",
        headers={"Authorization": f"Bearer {refused.app_token()}"},
    )
    assert raw.status_code == 403
    assert raw.json()["error"]["code"] == "Authorization_RequestDenied"
    with pytest.raises(AuthFailed) as caught:
        group_users(refused.client(refused.app_token()), STAFF)
    assert caught.value.message == (
        f"Office 365 denied reading the members of the group {STAFF}: grant the app the "
        "application permission GroupMember.Read.All (with admin consent)."
    )
    allowed = Directory(directory("GroupMember.Read.All"))
    assert len(group_users(allowed.client(allowed.app_token()), STAFF)) == 3


def test_a_refused_token_is_not_said_to_lack_the_permission(sandbox: Directory) -> None:
    forged = "eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.c2ln"
    with pytest.raises(AuthFailed) as caught:
        group_users(sandbox.client(forged), STAFF)
    assert caught.value.status == 401
    assert "GroupMember.Read.All" not in caught.value.message


def test_an_unknown_group_says_to_check_the_id(sandbox: Directory) -> None:
    unknown = derived_group_id("Nobody")
    with pytest.raises(NotFound) as caught:
        group_users(sandbox.client(), unknown)
    assert caught.value.message == (
        f"The group {unknown} was not found in the tenant: check the target's group id "
        "(the group's object id in Entra)."
    )


def test_every_page_is_followed_and_only_users_are_kept() -> None:
    asked: list[str] = []
    pages = {
        "first": {
            "value": [
                {
                    "@odata.type": "#microsoft.graph.user",
                    "id": "u1",
                    "userPrincipalName": "a@x.test",
                },
                {"@odata.type": "#microsoft.graph.device", "id": "d1"},
                {"@odata.type": "#microsoft.graph.group", "id": "g1"},
            ],
            "@odata.nextLink": f"{BASE}/groups/g/transitiveMembers?$skiptoken=two",
        },
        "two": {
            "value": [
                {
                    "@odata.type": "#microsoft.graph.user",
                    "id": "u2",
                    "userPrincipalName": "b@x.test",
                    "mail": "b@x.test",
                },
                {
                    "@odata.type": "#microsoft.graph.user",
                    "id": "U1",
                    "userPrincipalName": "a@x.test",
                },
                {"@odata.type": "#microsoft.graph.user", "id": "u3"},
                {"@odata.type": "#microsoft.graph.servicePrincipal", "id": "s1"},
            ]
        },
    }

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        key = "two" if "skiptoken" in str(request.url) else "first"
        return httpx.Response(200, json=pages[key])

    http = httpx.Client(transport=httpx.MockTransport(answer))
    users = group_users(GraphClient(http, BASE, "me"), "g")
    assert users == [
        GroupUser("u1", "a@x.test"),
        GroupUser("u2", "b@x.test", "b@x.test"),
        GroupUser("u3", "u3"),  # no UPN given: addressed by its object id
    ]
    assert asked[0] == (
        f"{BASE}/groups/g/transitiveMembers?$select=id,userPrincipalName,mail&$top=999"
    )
    assert len(asked) == 2
