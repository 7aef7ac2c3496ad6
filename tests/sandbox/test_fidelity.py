"""Issue 10: where the sandbox used to be kinder than Graph, over HTTP (in-process).

Mailboxes that do not exist, malformed ids, immutable ids and moves, displayName regeneration,
`@odata.context`, `$orderby`, folder rename/delete/delta and the `delta()` function form.
"""

from __future__ import annotations

import httpx
import pytest

from central365.mailstore.store import SandboxStore, seed_folder
from tests.sandbox.conftest import MAILBOX, UNKNOWN_ID, contact_body
from tests.sandbox.test_http_contacts import assert_graph_error

IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}
JSON = {"Content-Type": "application/json"}


def test_unknown_mailboxes_are_404_invalid_user(client: httpx.Client, admin: httpx.Client) -> None:
    missing = client.get("/users/ghost%40contoso.test/contactFolders")
    error = assert_graph_error(missing, 404, "ErrorInvalidUser")
    assert error["message"] == "The requested user 'ghost@contoso.test' is invalid."
    member = {"id": "1", "method": "POST", "url": "/users/ghost@contoso.test/contacts"}
    member |= {"headers": JSON, "body": contact_body(1)}
    answer = client.post("/$batch", json={"requests": [member]}).json()["responses"][0]
    assert (answer["status"], answer["body"]["error"]["code"]) == (404, "ErrorInvalidUser")
    added = admin.post("/mailboxes", json={"userPrincipalName": "ghost@contoso.test"})
    assert added.status_code == 201
    listed = client.get("/users/ghost%40contoso.test/contactFolders")
    assert listed.status_code == 200
    by_id = client.get(f"/users/{added.json()['id']}/contactFolders")
    assert (
        by_id.status_code == 200
        and by_id.json()["@odata.context"] == listed.json()["@odata.context"]
    )
    names = {m["userPrincipalName"] for m in admin.get("/mailboxes").json()}
    assert names == {MAILBOX, "ghost@contoso.test"}
    assert admin.post("/seed", json={"mailbox": "nobody@x.test", "folder": "F"}).status_code == 400


def test_malformed_ids_are_400(client: httpx.Client, folder_id: str) -> None:
    for path in (
        "/me/contacts/nope",
        "/me/contactFolders/x y",
        f"/me/contactFolders/{folder_id}/contacts/1",
    ):
        error = assert_graph_error(client.get(path), 400, "ErrorInvalidIdMalformed")
        assert error["message"] == "Id is malformed."
    assert_graph_error(client.get(f"/me/contacts/{UNKNOWN_ID}"), 404, "ErrorItemNotFound")


def test_context_names_the_users_object_id(client: httpx.Client, store: SandboxStore) -> None:
    user_id = store.mailbox_user_id(MAILBOX)
    for path in ("/me/contacts", "/users/demo%40contoso.test/contactFolders"):
        context = client.get(path).json()["@odata.context"]
        assert f"users('{user_id}')" in context and MAILBOX not in context
    created = client.post("/me/contacts", json=contact_body(1)).json()
    assert created["@odata.context"].endswith(f"users('{user_id}')/contacts/$entity")


def test_immutable_ids_survive_a_move_and_translate(
    client: httpx.Client, admin: httpx.Client, folder_id: str
) -> None:
    other = client.post("/me/contactFolders", json={"displayName": "Other"}).json()["id"]
    base = f"/me/contactFolders/{folder_id}/contacts"
    created = client.post(base, json=contact_body(1), headers=IMMUTABLE).json()
    regular = client.get(base).json()["value"][0]
    assert created["id"] != regular["id"] and len(regular["id"]) == 152
    assert len(regular["changeKey"]) == 40
    listed = client.get(base, headers=IMMUTABLE).json()["value"]
    assert [c["id"] for c in listed] == [created["id"]]
    moved = admin.post("/move", json={"contact": regular["id"], "folder": other}).json()
    assert moved["id"] != regular["id"]
    assert client.get(f"/me/contacts/{regular['id']}").status_code == 404  # the old id is gone
    again = client.get(f"/me/contacts/{created['id']}", headers=IMMUTABLE).json()
    assert again["id"] == created["id"] and again["parentFolderId"] == other
    body = {
        "inputIds": [moved["id"], UNKNOWN_ID],
        "sourceIdType": "restId",
        "targetIdType": "restImmutableEntryId",
    }
    translated = client.post("/me/translateExchangeIds", json=body).json()["value"]
    assert translated[0] == {"sourceId": moved["id"], "targetId": created["id"]}
    assert translated[1]["errorDetails"]["code"] == "ErrorItemNotFound"
    back = {**body, "inputIds": [created["id"]], "sourceIdType": "restImmutableEntryId"}
    back["targetIdType"] = "restId"
    assert (
        client.post("/me/translateExchangeIds", json=back).json()["value"][0]["targetId"]
        == (moved["id"])
    )
    bad = {**body, "targetIdType": "ewsId"}
    assert client.post("/me/translateExchangeIds", json=bad).status_code == 400


def test_a_move_shows_in_both_folders_deltas(
    client: httpx.Client, admin: httpx.Client, folder_id: str
) -> None:
    other = client.post("/me/contactFolders", json={"displayName": "Other"}).json()["id"]
    created = client.post(f"/me/contactFolders/{folder_id}/contacts", json=contact_body(1)).json()
    links = {
        f: client.get(f"/me/contactFolders/{f}/contacts/delta").json()["@odata.deltaLink"]
        for f in (folder_id, other)
    }
    moved = admin.post("/move", json={"contact": created["id"], "folder": other}).json()
    left = client.get(links[folder_id]).json()["value"]
    assert left == [{"id": created["id"], "@removed": {"reason": "deleted"}}]
    arrived = client.get(links[other]).json()["value"]
    assert [c["id"] for c in arrived] == [moved["id"]]


def test_display_name_is_regenerated_like_exchange(
    client: httpx.Client, admin: httpx.Client
) -> None:
    created = client.post("/me/contacts", json={"givenName": "Ann", "displayName": "Boss"}).json()
    url = f"/me/contacts/{created['id']}"
    assert client.patch(url, json={"jobTitle": "CEO"}).json()["displayName"] == "Boss"
    assert client.patch(url, json={"surname": "Lee"}).json()["displayName"] == "Ann Lee"
    assert admin.put("/faults", json={"display_name_overwrite": True}).status_code == 200
    client.patch(url, json={"displayName": "Boss"})
    assert client.patch(url, json={"jobTitle": "CTO"}).json()["displayName"] == "Ann Lee"
    kept = client.patch(url, json={"jobTitle": "CFO", "displayName": "Boss"}).json()
    assert kept["displayName"] == "Boss"


@pytest.mark.parametrize(
    ("orderby", "expected"),
    [
        ("surname", ["Able", "baker", "Carter"]),
        ("surname desc", ["Carter", "baker", "Able"]),
        ("givenName desc,surname", ["Carter", "Able", "baker"]),
        ("createdDateTime desc", ["Able", "baker", "Carter"]),
        ("lastModifiedDateTime", ["Carter", "Able", "baker"]),
        ("displayName desc", ["Carter", "baker", "Able"]),
    ],
)
def test_orderby(
    client: httpx.Client, store: SandboxStore, orderby: str, expected: list[str]
) -> None:
    folder = seed_folder(
        store,
        MAILBOX,
        "Sorted",
        [
            {"givenName": "Zed", "surname": "Carter"},
            {"givenName": "Bo", "surname": "baker"},
            {"givenName": "Bo", "surname": "Able"},
        ],
    )
    contacts = store.list_contacts(MAILBOX, folder["id"])
    store.update_contact(MAILBOX, contacts[1]["id"], {"jobTitle": "x"})  # modified last
    store.update_contact(MAILBOX, contacts[2]["id"], {"jobTitle": "x"})
    store.update_contact(MAILBOX, contacts[1]["id"], {"jobTitle": "y"})
    listed = client.get(
        f"/me/contactFolders/{folder['id']}/contacts", params={"$orderby": orderby, "$top": 2}
    ).json()
    first = [c["surname"] for c in listed["value"]]
    rest = [c["surname"] for c in client.get(listed["@odata.nextLink"]).json()["value"]]
    assert first + rest == expected


def test_folder_rename_delete_and_folder_delta(client: httpx.Client, folder_id: str) -> None:
    first = client.get("/me/contactFolders/delta()").json()
    names = {f["displayName"] for f in first["value"]}
    assert names == {"Contacts", "CRM"} and "@odata.deltaLink" in first
    contact = client.post(f"/me/contactFolders/{folder_id}/contacts", json=contact_body(1)).json()
    contacts_link = client.get(f"/me/contactFolders/{folder_id}/contacts/delta()").json()
    renamed = client.patch(f"/me/contactFolders/{folder_id}", json={"displayName": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["displayName"] == "Renamed"
    child = client.post(
        f"/me/contactFolders/{folder_id}/childFolders", json={"displayName": "Child"}
    ).json()
    assert_graph_error(
        client.patch(f"/me/contactFolders/{child['id']}", json={"displayName": ""}),
        400,
        "ErrorInvalidArgument",
    )
    second = client.get(first["@odata.deltaLink"]).json()
    assert [f["displayName"] for f in second["value"]] == ["Renamed", "Child"]
    assert client.delete(f"/me/contactFolders/{folder_id}").status_code == 204
    assert_graph_error(client.get(f"/me/contacts/{contact['id']}"), 404, "ErrorItemNotFound")
    third = client.get(second["@odata.deltaLink"]).json()["value"]
    assert third == [
        {"id": folder_id, "@removed": {"reason": "deleted"}},
        {"id": child["id"], "@removed": {"reason": "deleted"}},
    ]
    gone = client.get(contacts_link["@odata.deltaLink"])
    assert_graph_error(gone, 404, "ErrorItemNotFound")  # the folder itself is gone
    selected = client.get("/me/contactFolders/microsoft.graph.delta()?$select=displayName")
    default = selected.json()["value"][0]
    assert set(default) == {"id", "displayName"}
    assert client.get("/me/contactFolders/delta?$select=nope").status_code == 400
    assert_graph_error(
        client.delete(f"/me/contactFolders/{default['id']}"), 400, "ErrorDeleteDistinguishedFolder"
    )
    renamed_default = client.patch(f"/me/contactFolders/{default['id']}", json={"displayName": "X"})
    assert_graph_error(renamed_default, 400, "ErrorDeleteDistinguishedFolder")
    other = client.post("/me/contactFolders", json={"displayName": "Other"}).json()
    moved = client.patch(
        f"/me/contactFolders/{other['id']}",
        json={"displayName": "Other", "parentFolderId": other["id"]},
    )
    assert_graph_error(moved, 400, "BadRequest")  # moving a folder is not modelled
