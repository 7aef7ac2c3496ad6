"""The Graph folder's delta reads against the in-process sandbox: paging, changes, `@removed`,
repeated items, an expired token, and what a re-plan costs in requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from central365.core.errors import GraphError, NotFound
from central365.core.model import FolderContact, FolderInfo
from central365.core.ports import FolderSnapshot
from central365.graph import GraphFolder, StaticTokenAuth
from central365.graph.client import GraphClient
from central365.graph.delta import RoundChanges, read_page
from central365.graph.errors import needs_resync
from central365.memory import InMemoryFolderCache
from tests.graph.conftest import FakeClock
from tests.graph.test_against_sandbox import MAILBOX, Sandbox


def person(i: int) -> dict[str, Any]:
    return {
        "givenName": f"Person{i}",
        "surname": "Test",
        "emailAddresses": [{"address": f"person{i}@example.com", "name": f"Person{i}"}],
    }


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    box = Sandbox(clock)
    yield box
    box.http.close()


class Delta:
    """A cached folder over the sandbox, and the sandbox's request counter."""

    def __init__(self, sandbox: Sandbox, contacts: int) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        info = sandbox.mailbox().create_folder("CRM")
        self.folder_id = info.id
        for i in range(contacts):
            self.store.create_contact(MAILBOX, info.id, person(i))
        self.cache = InMemoryFolderCache()
        mailbox = sandbox.mailbox()
        # The delta round alone (no anchors read: `expand=None`); the anchors' path is tested
        # on its own below.
        self.folder = GraphFolder(mailbox.client, info, cache=self.cache, expand=None)

    @property
    def requests(self) -> int:
        stats = self.sandbox.app.state.sandbox.stats
        count: int = stats.requests
        return count

    def read(self) -> tuple[list[FolderContact], int]:
        """The folder's contacts, and the Graph requests the read took."""
        before = self.requests
        contacts = list(self.folder.contacts())
        return contacts, self.requests - before

    def truth(self) -> list[FolderContact]:
        """The folder listed in full, without the cache."""
        mailbox = self.sandbox.mailbox()
        return list(GraphFolder(mailbox.client, self.folder.info).contacts())


def by_id(contacts: list[FolderContact]) -> dict[str, FolderContact]:
    return {c.id: c for c in contacts}


def test_first_read_pages_through_a_full_round_and_keeps_its_delta_link(sandbox: Sandbox) -> None:
    delta = Delta(sandbox, 2500)
    contacts, requests = delta.read()
    assert len(contacts) == 2500
    assert requests == 3  # 1000 + 1000 + 500 per page (Prefer: odata.maxpagesize=1000)
    assert by_id(contacts) == by_id(delta.truth())
    snapshot = delta.cache.snapshots[delta.folder_id]
    assert "$deltatoken=" in snapshot.delta_link and len(snapshot.contacts) == 2500


def test_a_replan_with_nothing_changed_costs_one_request(sandbox: Sandbox) -> None:
    delta = Delta(sandbox, 1200)
    first, _ = delta.read()
    again, requests = delta.read()
    assert requests == 1
    assert by_id(again) == by_id(first)


def test_adds_updates_and_removals_arrive_in_one_round(sandbox: Sandbox) -> None:
    delta = Delta(sandbox, 30)
    first, _ = delta.read()
    ids = sorted(c.id for c in first)
    delta.store.update_contact(MAILBOX, ids[0], {"surname": "Changed"})
    delta.store.delete_contact(MAILBOX, ids[1])
    delta.store.create_contact(MAILBOX, delta.folder_id, person(100))
    contacts, requests = delta.read()
    assert requests == 1
    assert by_id(contacts) == by_id(delta.truth())
    assert by_id(contacts)[ids[0]].surname == "Changed" and ids[1] not in by_id(contacts)
    assert len(contacts) == 30
    assert delta.cache.updated >= 1


def test_k_changes_cost_about_k_over_1000_plus_one(sandbox: Sandbox) -> None:
    delta = Delta(sandbox, 2100)
    first, _ = delta.read()
    for contact in first[:2100]:
        delta.store.update_contact(MAILBOX, contact.id, {"jobTitle": "Engineer"})
    _, requests = delta.read()
    assert requests == 3  # 2100 changes in pages of 1000


def test_a_contact_moved_out_of_the_folder_is_removed(sandbox: Sandbox) -> None:
    delta = Delta(sandbox, 3)
    first, _ = delta.read()
    other = sandbox.mailbox().create_folder("Elsewhere")
    delta.store.move_contact(MAILBOX, first[0].id, other.id)
    contacts, _ = delta.read()
    assert first[0].id not in by_id(contacts) and len(contacts) == 2


def test_an_expired_token_falls_back_to_a_full_round(sandbox: Sandbox) -> None:
    delta = Delta(sandbox, 1500)
    delta.read()
    delta.store.update_contact(MAILBOX, delta.truth()[0].id, {"surname": "Later"})
    expired = delta.sandbox.http.post("http://sandbox.test/_sandbox/delta/expire")
    assert expired.status_code == 200
    contacts, requests = delta.read()
    assert requests == 1 + 2  # the refused token, then a full round of two pages
    assert by_id(contacts) == by_id(delta.truth())
    assert delta.cache.replaced == 2
    _, requests = delta.read()  # the new token works
    assert requests == 1


def test_the_sandbox_answers_an_expired_token_with_410_sync_state_not_found(
    sandbox: Sandbox,
) -> None:
    delta = Delta(sandbox, 1)
    delta.read()
    link = delta.cache.snapshots[delta.folder_id].delta_link
    delta.store.expire_delta_tokens(MAILBOX)
    answer = sandbox.http.get(link)
    assert answer.status_code == 410
    assert answer.json()["error"]["code"] == "syncStateNotFound"


def test_the_sandbox_refuses_expand_on_a_contacts_delta(sandbox: Sandbox) -> None:
    """The contact delta page documents `$select` only (reference §2.4)."""
    delta = Delta(sandbox, 1)
    url = (
        f"http://sandbox.test/v1.0/users/{MAILBOX}/contactFolders/{delta.folder_id}/contacts/delta"
        "?$expand=singleValueExtendedProperties"
    )
    assert sandbox.http.get(url).status_code == 400


def test_a_deleted_folder_is_not_found_rather_than_read_as_empty(sandbox: Sandbox) -> None:
    delta = Delta(sandbox, 2)
    delta.read()
    delta.store.delete_folder(MAILBOX, delta.folder_id)
    with pytest.raises(NotFound):
        delta.read()


def test_other_refusals_are_not_taken_for_an_expired_token() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "deltatoken" in str(request.url):
            return httpx.Response(400, json={"error": {"code": "BadRequest", "message": "no"}})
        return httpx.Response(
            200, json={"value": [], "@odata.deltaLink": "http://g/d?$deltatoken=1"}
        )

    http = httpx.Client(transport=httpx.MockTransport(answer), auth=StaticTokenAuth("t"))
    cache = InMemoryFolderCache()
    cache.replace("f", FolderSnapshot("http://g/d?$deltatoken=0", {}))
    folder = GraphFolder(
        GraphClient(http, "http://g/v1.0", "me"), FolderInfo("f", "CRM"), cache=cache
    )
    with pytest.raises(GraphError) as raised:
        list(folder.contacts())
    assert not needs_resync(raised.value)
    assert cache.replaced == 1  # the kept snapshot stays


def test_a_round_folds_repeats_and_removals_in_order() -> None:
    changes = RoundChanges()
    changes.add([{"id": "a", "surname": "One"}, {"id": "b", "surname": "B"}])
    changes.add([{"id": "a", "surname": "Two", "@odata.etag": "W/1"}, {"id": "b", "@removed": {}}])
    changes.add([{"id": "c", "@removed": {"reason": "deleted"}}, {"id": "c", "surname": "Back"}])
    changes.add([{"surname": "no id"}])
    assert changes.changed == {
        "a": {"id": "a", "surname": "Two"},
        "c": {"id": "c", "surname": "Back"},
    }
    assert changes.removed == {"b"}
    kept = {"b": {"id": "b"}, "z": {"id": "z"}}
    assert set(changes.applied_to(kept)) == {"a", "c", "z"}


def test_a_page_needs_a_link_to_follow_or_to_keep() -> None:
    with pytest.raises(ValueError):
        read_page({"value": []})
    with pytest.raises(ValueError):
        read_page(["not", "a", "list"])
    page = read_page({"value": [{"id": "a"}, "junk"], "@odata.nextLink": "http://next"})
    assert page.items == ({"id": "a"},) and page.next_link == "http://next"


def test_a_delta_page_that_is_not_a_graph_list_is_a_clear_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"value": []})

    http = httpx.Client(transport=httpx.MockTransport(answer), auth=StaticTokenAuth("t"))
    cache = InMemoryFolderCache()
    folder = GraphFolder(
        GraphClient(http, "http://g/v1.0", "me"), FolderInfo("f", "CRM"), cache=cache
    )
    with pytest.raises(GraphError, match="not a delta page"):
        list(folder.contacts())


ANCHOR = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name centralId"
EXPAND = f"singleValueExtendedProperties($filter=id eq '{ANCHOR}')"


def anchored(i: int) -> dict[str, Any]:
    return person(i) | {"singleValueExtendedProperties": [{"id": ANCHOR, "value": f"k{i}"}]}


def anchors(cache: InMemoryFolderCache, folder_id: str) -> dict[str, Any]:
    contacts = cache.snapshots[folder_id].contacts
    return {cid: c.get("singleValueExtendedProperties") for cid, c in contacts.items()}


def test_an_expanded_property_is_kept_right_through_delta_rounds(sandbox: Sandbox) -> None:
    """Delta carries no extended properties: a full read lists them; a round keeps them for
    contacts that already carried an anchor (only central365 writes it, and never changes it),
    and re-reads them (one `$batch`) for new contacts and for those that carried none."""
    info = sandbox.mailbox().create_folder("CRM")
    ids = [sandbox.store.create_contact(MAILBOX, info.id, anchored(i))["id"] for i in range(30)]
    plain = sandbox.store.create_contact(MAILBOX, info.id, person(30))["id"]
    cache = InMemoryFolderCache()
    folder = GraphFolder(sandbox.mailbox().client, info, cache=cache, expand=EXPAND)
    stats = sandbox.app.state.sandbox.stats

    before = stats.requests
    assert len(list(folder.contacts())) == 31
    assert stats.requests - before == 2  # the delta round for its link, the list with $expand
    values = sorted(v[0]["value"] for v in anchors(cache, info.id).values() if v)
    assert values == sorted(f"k{i}" for i in range(30))

    before = stats.requests
    list(folder.contacts())
    assert stats.requests - before == 1

    # A person's edit of an anchored contact: the round alone, the anchor kept.
    sandbox.store.update_contact(MAILBOX, ids[0], {"surname": "Edited"})
    sandbox.store.delete_contact(MAILBOX, ids[1])
    before = stats.requests
    contacts = list(folder.contacts())
    assert stats.requests - before == 1
    assert len(contacts) == 30
    edited = next(c.id for c in contacts if c.surname == "Edited")
    assert anchors(cache, info.id)[edited] == [{"id": ANCHOR, "value": "k0"}]

    # A contact anchored since (central365 found it by email) and a new anchored contact:
    # the round, and one batch re-reading both.
    sandbox.store.update_contact(
        MAILBOX, plain, {"singleValueExtendedProperties": [{"id": ANCHOR, "value": "k30"}]}
    )
    sandbox.store.create_contact(MAILBOX, info.id, anchored(31))
    before = stats.requests
    contacts = list(folder.contacts())
    assert stats.requests - before == 2
    kept = anchors(cache, info.id)
    by_name = {c.given_name: c.id for c in contacts}
    assert kept[by_name["Person30"]] == [{"id": ANCHOR, "value": "k30"}]
    assert kept[by_name["Person31"]] == [{"id": ANCHOR, "value": "k31"}]
    assert sorted(v[0]["value"] for v in kept.values()) == sorted(
        ["k0", *(f"k{i}" for i in range(2, 32))]
    )


@pytest.mark.parametrize(
    ("status", "code", "resync"),
    [
        (410, None, True),
        (400, "syncStateNotFound", True),
        (400, "resyncRequired", True),
        (404, "ErrorItemNotFound", False),
        (400, "BadRequest", False),
        (None, None, False),
    ],
)
def test_what_counts_as_a_refused_delta_token(
    status: int | None, code: str | None, resync: bool
) -> None:
    assert needs_resync(GraphError("x", status=status, code=code)) is resync
