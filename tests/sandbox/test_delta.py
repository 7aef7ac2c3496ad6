"""Delta query on a folder's contacts: rounds, paging, removals, $select in the token."""

from __future__ import annotations

from typing import Any

import httpx

from central365.mailstore.store import SandboxStore, seed_folder
from tests.sandbox.conftest import MAILBOX, UNKNOWN_ID, contact_body


def run_round(client: httpx.Client, url: str, **kw: Any) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink; returns (items, deltaLink, pages)."""
    items: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        response = client.get(next_url, **kw)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        items += page["value"]
        if "@odata.deltaLink" in page:
            assert "@odata.nextLink" not in page
            return items, page["@odata.deltaLink"], pages
        next_url = page["@odata.nextLink"]
        assert "$skiptoken=" in next_url
    raise AssertionError("no deltaLink")


def test_delta_rounds(client: httpx.Client, store: SandboxStore) -> None:
    folder = seed_folder(store, MAILBOX, "CRM", [contact_body(i) for i in range(23)])
    other = seed_folder(store, MAILBOX, "Other", [contact_body(99)])
    url = f"/me/contactFolders/{folder['id']}/contacts/delta?$select=surname,emailAddresses"
    items, delta_link, pages = run_round(client, url)
    assert pages == 3 and len(items) == 23
    assert set(items[0]) == {"@odata.etag", "id", "surname", "emailAddresses"}
    assert "$deltatoken=" in delta_link and "$select" not in delta_link

    ids = [i["id"] for i in items]
    client.patch(f"/me/contacts/{ids[0]}", json={"surname": "Changed"})
    client.delete(f"/me/contacts/{ids[1]}")
    added = client.post(f"/me/contactFolders/{folder['id']}/contacts", json=contact_body(50))
    client.post(f"/me/contactFolders/{other['id']}/contacts", json=contact_body(51))
    items, delta_link, _ = run_round(client, delta_link)
    assert {"id": ids[1], "@removed": {"reason": "deleted"}} in items
    changed = {i["id"]: i for i in items if "@removed" not in i}
    assert set(changed) == {ids[0], added.json()["id"]}
    assert changed[ids[0]]["surname"] == "Changed"
    assert set(changed[ids[0]]) == {"@odata.etag", "id", "surname", "emailAddresses"}

    items, _, pages = run_round(client, delta_link)
    assert items == [] and pages == 1


def test_delta_maxpagesize_and_writes_during_a_round(
    client: httpx.Client, store: SandboxStore
) -> None:
    folder = seed_folder(store, MAILBOX, "CRM", [contact_body(i) for i in range(5)])
    prefer = {"Prefer": "odata.maxpagesize=2"}
    first = client.get(f"/me/contactFolders/{folder['id']}/contacts/delta", headers=prefer).json()
    assert len(first["value"]) == 2
    # a write in the middle of a round lands in the next round, never shifting pages
    client.patch(f"/me/contacts/{first['value'][0]['id']}", json={"surname": "Mid"})
    rest, delta_link, _ = run_round(client, first["@odata.nextLink"], headers=prefer)
    assert len(rest) == 3
    assert {c["id"] for c in first["value"] + rest} == {
        c["id"] for c in store.list_contacts(MAILBOX, folder["id"])
    }
    later, _, _ = run_round(client, delta_link)
    assert [c["surname"] for c in later] == ["Mid"]


def test_delta_errors(client: httpx.Client, folder_id: str) -> None:
    base = f"/me/contactFolders/{folder_id}/contacts/delta"
    assert client.get(base, params={"$deltatoken": "garbage"}).status_code == 400
    assert client.get(base, params={"$filter": "x"}).status_code == 400
    assert client.get(f"/me/contactFolders/{UNKNOWN_ID}/contacts/delta").status_code == 404
    assert client.post(base, json={}).status_code == 405
