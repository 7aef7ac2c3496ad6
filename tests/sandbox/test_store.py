"""SandboxStore: the Graph-shaped state, without HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from central365.mailstore.problem import GraphProblem
from central365.mailstore.store import SandboxStore, seed_folder
from tests.sandbox.conftest import MAILBOX, UNKNOWN_ID, FakeClock, contact_body

#: Verbatim bodies from the Graph v1.0 docs (a copy of shared/reference/graph-contact-examples.json).
EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "graph-contact-examples.json"


def full_get_example() -> dict[str, Any]:
    examples = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    (body,) = [e["body"] for e in examples if e["source"].endswith("contact-get.md")]
    assert isinstance(body, dict)
    return body


def refusal(call: Any, *args: Any) -> GraphProblem:
    with pytest.raises(GraphProblem) as caught:
        call(*args)
    return caught.value


def test_contact_has_every_property_of_the_full_get_example_in_order(store: SandboxStore) -> None:
    example = full_get_example()
    folder = store.create_folder(MAILBOX, "CRM")
    created = store.create_contact(
        MAILBOX, folder["id"], {"givenName": "Alex", "surname": "Wilber"}
    )
    assert list(created) == [k for k in example if k != "@odata.context"]
    assert created["@odata.etag"] == f'W/"{created["changeKey"]}"'
    assert created["parentFolderId"] == folder["id"]
    assert created["displayName"] == "Alex Wilber"
    assert created["fileAs"] == "" and created["personalNotes"] == ""
    assert created["middleName"] is None and created["categories"] == []
    assert created["homeAddress"] == {} and created["emailAddresses"] == []


def test_timestamps_are_utc_with_z_and_change_on_update(
    store: SandboxStore, clock: FakeClock
) -> None:
    created = store.create_contact(MAILBOX, None, {"givenName": "A"})
    assert created["createdDateTime"] == "2026-01-02T03:04:06Z"
    assert created["lastModifiedDateTime"] == created["createdDateTime"]
    updated = store.update_contact(MAILBOX, created["id"], {"surname": "B"})
    assert updated["createdDateTime"] == created["createdDateTime"]
    assert updated["lastModifiedDateTime"] == "2026-01-02T03:04:07Z"
    assert updated["changeKey"] != created["changeKey"]
    assert updated["@odata.etag"] != created["@odata.etag"]


def test_patch_changes_only_given_properties_and_replaces_collections(
    store: SandboxStore,
) -> None:
    created = store.create_contact(
        MAILBOX,
        None,
        {
            **contact_body(1),
            "businessPhones": ["+1 1", "+1 2"],
            "homeAddress": {"street": "1 Road", "city": "Leeds", "postalCode": "LS1"},
            "jobTitle": "Boss",
        },
    )
    updated = store.update_contact(
        MAILBOX,
        created["id"],
        {"businessPhones": ["+1 3"], "homeAddress": {"city": "York"}},
    )
    assert updated["businessPhones"] == ["+1 3"]
    assert updated["homeAddress"] == {"city": "York"}  # a PATCHed address replaces the old one
    assert updated["jobTitle"] == "Boss"
    assert updated["emailAddresses"] == created["emailAddresses"]


def test_display_name_kept_as_sent_until_a_name_part_changes(store: SandboxStore) -> None:
    sent = store.create_contact(MAILBOX, None, {"givenName": "A", "displayName": "Custom"})
    kept = store.update_contact(MAILBOX, sent["id"], {"jobTitle": "CEO", "givenName": "A"})
    assert kept["displayName"] == "Custom"
    # reference §1.1: a PATCH of a name part without displayName makes Exchange generate it
    assert store.update_contact(MAILBOX, sent["id"], {"surname": "Z"})["displayName"] == "A Z"
    resent = store.update_contact(MAILBOX, sent["id"], {"surname": "Y", "displayName": "Custom"})
    assert resent["displayName"] == "Custom"
    generated = store.create_contact(MAILBOX, None, {"givenName": "A", "surname": "B"})
    assert generated["displayName"] == "A B"
    renamed = store.update_contact(MAILBOX, generated["id"], {"surname": "C"})
    assert renamed["displayName"] == "A C"


def test_regenerating_on_every_patch_overwrites_a_sent_display_name(store: SandboxStore) -> None:
    sent = store.create_contact(MAILBOX, None, {"givenName": "A", "displayName": "Custom"})
    over = store.update_contact(
        MAILBOX, sent["id"], {"jobTitle": "CEO"}, regenerate_display_name=True
    )
    assert over["displayName"] == "A"
    resent = store.update_contact(
        MAILBOX, sent["id"], {"displayName": "Custom"}, regenerate_display_name=True
    )
    assert resent["displayName"] == "Custom"


def test_email_name_defaults_to_the_address(store: SandboxStore) -> None:
    created = store.create_contact(MAILBOX, None, {"emailAddresses": [{"address": "a@b.test"}]})
    assert created["emailAddresses"] == [{"name": "a@b.test", "address": "a@b.test"}]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"emailAddresses": [{"address": f"a{i}@b.test"} for i in range(4)]},
            "ErrorInvalidArgument",
            "The multi value property EmailAddresses has 4 entries, that exceeds the max "
            "allowed value of 3",
        ),
        (
            {"businessPhones": ["1", "2", "3"]},
            "ErrorInvalidArgument",
            "The multi value property BusinessPhones has 3 entries, that exceeds the max "
            "allowed value of 2",
        ),
        ({"nickname2": "x"}, "RequestBodyRead", "The property 'nickname2' does not exist"),
        ({"id": "x"}, "ErrorInvalidProperty", "The property 'id' is read-only"),
        ({"changeKey": "x"}, "ErrorInvalidProperty", "read-only"),
        ({"givenName": 5}, "RequestBodyRead", "Cannot convert the literal '5'"),
        ({"businessPhones": "123"}, "RequestBodyRead", "Collection(Edm.String)"),
        ({"emailAddresses": [{"address": "a@b.test", "type": "x"}]}, "RequestBodyRead", "type"),
        ({"homeAddress": {"street": "x", "zip": "1"}}, "RequestBodyRead", "zip"),
        ({"birthday": "yesterday"}, "RequestBodyRead", "Edm.DateTimeOffset"),
        (["not", "an", "object"], "RequestBodyRead", "microsoft.graph.contact"),
    ],
)
def test_invalid_bodies_are_400(store: SandboxStore, body: Any, code: str, message: str) -> None:
    problem = refusal(store.create_contact, MAILBOX, None, body)
    assert (problem.status, problem.code) == (400, code)
    assert message in problem.message


def test_annotations_and_extended_properties_are_accepted(store: SandboxStore) -> None:
    prop = {"id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name crmId", "value": "42"}
    created = store.create_contact(
        MAILBOX,
        None,
        {"@odata.type": "#microsoft.graph.contact", "singleValueExtendedProperties": [prop]},
    )
    assert "singleValueExtendedProperties" not in created
    assert store.relationships(MAILBOX, created["id"])["singleValueExtendedProperties"] == [prop]


def test_unknown_contact_and_folder_are_item_not_found(store: SandboxStore) -> None:
    for problem in (
        refusal(store.get_contact, MAILBOX, UNKNOWN_ID),
        refusal(store.list_contacts, MAILBOX, UNKNOWN_ID),
        refusal(store.update_contact, MAILBOX, UNKNOWN_ID, {}),
        refusal(store.delete_contact, MAILBOX, UNKNOWN_ID),
    ):
        assert (problem.status, problem.code) == (404, "ErrorItemNotFound")
        assert problem.message == "The specified object was not found in the store."


def test_folder_qualified_access_only_reaches_that_folder(store: SandboxStore) -> None:
    a = store.create_folder(MAILBOX, "A")
    b = store.create_folder(MAILBOX, "B")
    contact = store.create_contact(MAILBOX, a["id"], contact_body(1))
    assert store.get_contact(MAILBOX, contact["id"])["id"] == contact["id"]  # flat path
    assert refusal(store.get_contact, MAILBOX, contact["id"], b["id"]).status == 404
    assert store.list_contacts(MAILBOX, b["id"]) == []


def test_mailboxes_are_case_insensitive_and_me_is_the_default(store: SandboxStore) -> None:
    store.declare_mailbox("other@contoso.test")
    store.create_folder("Demo@Contoso.TEST", "CRM")
    assert [f["displayName"] for f in store.list_folders("me")] == ["CRM"]
    assert store.list_folders("other@contoso.test") == []


def test_folders_exclude_the_default_and_refuse_duplicate_names(store: SandboxStore) -> None:
    default = store.default_folder(MAILBOX)
    assert default["displayName"] == "Contacts"
    crm = store.create_folder(MAILBOX, "CRM")
    assert crm["parentFolderId"] == default["id"]
    child = store.create_folder(MAILBOX, "Child", crm["id"])
    assert store.list_folders(MAILBOX) == [crm]
    assert store.list_folders(MAILBOX, crm["id"]) == [child]
    assert store.all_folders(MAILBOX) == [crm, child]
    problem = refusal(store.create_folder, MAILBOX, "crm")
    assert (problem.status, problem.code) == (409, "ErrorFolderExists")
    store.create_folder(MAILBOX, "Child")  # same name under another parent is fine


def test_ids_are_stable_graph_looking_and_deterministic(clock: FakeClock) -> None:
    ids = []
    for _ in range(2):
        store = SandboxStore(clock=clock)
        folder = store.create_folder(MAILBOX, "CRM")
        ids.append((folder["id"], store.create_contact(MAILBOX, folder["id"], {})["id"]))
    assert ids[0] == ids[1]
    assert ids[0][1].startswith("AAMkA") and ids[0][1].endswith("=")


def test_changes_feed_delta(store: SandboxStore) -> None:
    folder = store.create_folder(MAILBOX, "CRM")["id"]
    one = store.create_contact(MAILBOX, folder, contact_body(1))
    two = store.create_contact(MAILBOX, folder, contact_body(2))
    store.delete_contact(MAILBOX, two["id"])
    mark = store.current_seq(MAILBOX)
    initial = store.changes(MAILBOX, folder, 0, mark, initial=True)
    assert [c.contact_id for c in initial] == [one["id"]]  # created+deleted before: never seen
    store.update_contact(MAILBOX, one["id"], {"surname": "New"})
    three = store.create_contact(MAILBOX, folder, contact_body(3))
    store.delete_contact(MAILBOX, three["id"])
    later = store.changes(MAILBOX, folder, mark, store.current_seq(MAILBOX), initial=False)
    assert [(c.contact_id, c.body is None) for c in later] == [
        (one["id"], False),
        (three["id"], True),
    ]


def test_seed_folder_reuses_by_name_unless_duplicates_are_wanted(store: SandboxStore) -> None:
    first = seed_folder(store, MAILBOX, "CRM", [contact_body(1)])
    again = seed_folder(store, MAILBOX, "crm", [contact_body(2)])
    assert again == first and len(store.list_contacts(MAILBOX, first["id"])) == 2
    duplicate = seed_folder(store, MAILBOX, "CRM", allow_duplicate=True)
    assert duplicate["id"] != first["id"]
    with pytest.raises(GraphProblem):
        seed_folder(store, MAILBOX, "Bad", [{"emailAddresses": "nope"}])


def test_reset_forgets_everything(store: SandboxStore) -> None:
    seed_folder(store, MAILBOX, "CRM", [contact_body(1)])
    store.reset()
    assert store.list_folders(MAILBOX) == []


def test_unknown_mailboxes_are_invalid_users(store: SandboxStore) -> None:
    problem = refusal(store.list_folders, "ghost@contoso.test")
    assert (problem.status, problem.code) == (404, "ErrorInvalidUser")
    assert problem.message == "The requested user 'ghost@contoso.test' is invalid."
    assert not store.has_mailbox("ghost@contoso.test")
    added = store.add_mailbox("Ghost@contoso.test")
    assert store.list_folders("ghost@contoso.test") == []
    assert store.mailbox_key(added["id"]) == "ghost@contoso.test"  # by user id too
    assert store.default_folder(added["id"]) == store.default_folder("GHOST@contoso.test")


def test_directory_users_have_mailboxes(store: SandboxStore) -> None:
    oid = "3f1c9e6a-0000-4000-8000-000000000001"
    store.set_directory(
        lambda key: ("dir@contoso.test", oid) if key in ("dir@contoso.test", oid) else None
    )
    assert store.list_folders(oid) == [] and store.mailbox_user_id("dir@contoso.test") == oid
    assert refusal(store.list_folders, "nobody@contoso.test").code == "ErrorInvalidUser"


def test_a_seeded_mailbox_takes_its_directory_users_id(store: SandboxStore) -> None:
    seed_folder(store, MAILBOX, "CRM", [contact_body(1)])
    oid = "3f1c9e6a-0000-4000-8000-000000000002"
    store.set_directory(lambda key: (MAILBOX, oid) if key.casefold() in (MAILBOX, oid) else None)
    assert store.mailbox_user_id(MAILBOX) == oid
    assert [f["displayName"] for f in store.list_folders(oid)] == ["CRM"]  # not a new mailbox


def test_a_mailbox_named_by_a_new_directory_id_keeps_its_contents(store: SandboxStore) -> None:
    seed_folder(store, MAILBOX, "CRM")
    store.set_directory(lambda key: None)
    oid = "3f1c9e6a-0000-4000-8000-000000000003"
    store.set_directory(lambda key: (MAILBOX, oid) if key.casefold() == oid else None)
    assert [f["displayName"] for f in store.list_folders(oid)] == ["CRM"]


def test_malformed_ids_are_a_400(store: SandboxStore) -> None:
    for call in (
        lambda: store.get_contact(MAILBOX, "nope"),
        lambda: store.update_contact(MAILBOX, "AAMkA!!", {}),
        lambda: store.get_folder(MAILBOX, "not an id at all"),
    ):
        with pytest.raises(GraphProblem) as caught:
            call()
        problem = caught.value
        assert (problem.status, problem.code, problem.message) == (
            400,
            "ErrorInvalidIdMalformed",
            "Id is malformed.",
        )


def test_ids_have_real_sizes_and_moves_change_only_the_regular_id(store: SandboxStore) -> None:
    a = store.create_folder(MAILBOX, "A")
    b = store.create_folder(MAILBOX, "B")
    created = store.create_contact(MAILBOX, a["id"], contact_body(1))
    immutable = store.get_contact(MAILBOX, created["id"], immutable=True)
    assert len(created["id"]) == 152 and len(created["changeKey"]) == 40
    assert immutable["id"] != created["id"] and immutable["changeKey"] == created["changeKey"]
    moved = store.move_contact(MAILBOX, created["id"], b["id"])
    assert moved["id"] != created["id"] and moved["parentFolderId"] == b["id"]
    assert store.get_contact(MAILBOX, moved["id"], immutable=True)["id"] == immutable["id"]
    assert refusal(store.get_contact, MAILBOX, created["id"]).status == 404
    assert store.get_contact(MAILBOX, immutable["id"])["id"] == moved["id"]  # either form finds it
    assert store.translate_ids(MAILBOX, [moved["id"], UNKNOWN_ID], True) == [immutable["id"], ""]
    assert store.translate_ids(MAILBOX, [immutable["id"]], False) == [moved["id"]]
