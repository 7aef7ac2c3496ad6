"""Matching by the Central anchor first, then by email; conflicts; the anchor on every write."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from central365.core.execute import Selection, select
from central365.core.mapping import (
    ANCHOR_PROPERTY_ID,
    anchor_property,
    folder_contact_from_graph,
    synced_values,
)
from central365.core.model import (
    REASON_TEXT,
    CentralContact,
    FieldChange,
    FolderContact,
    Match,
    Plan,
    PlanItem,
    Reason,
    State,
)
from central365.core.plan import build_plan


def person(key: str, email: str, **fields: Any) -> CentralContact:
    values: dict[str, Any] = {"status": "active", "first_name": "Ann", "last_name": "Lee"}
    values.update(fields)
    return CentralContact(key=key, email=email, **values)


def contact(cid: str, *emails: str, anchor: str = "", **graph: Any) -> FolderContact:
    data: dict[str, Any] = {
        "id": cid,
        "givenName": "Ann",
        "surname": "Lee",
        "displayName": "Ann Lee",
        "emailAddresses": [{"address": e, "name": e} for e in emails],
        **graph,
    }
    if anchor:
        data["singleValueExtendedProperties"] = [{"id": ANCHOR_PROPERTY_ID, "value": anchor}]
    return folder_contact_from_graph(data)


def item(plan: Plan, key: str) -> PlanItem:
    return next(i for i in plan.items if i.key == key)


def test_the_anchor_is_read_from_the_expanded_property_whatever_the_id_case() -> None:
    data = {
        "id": "c1",
        "singleValueExtendedProperties": [
            {"id": "String {00000000-0000-0000-0000-000000000000} Name Other", "value": "x"},
            {"id": ANCHOR_PROPERTY_ID.upper(), "value": "42"},
        ],
    }
    assert folder_contact_from_graph(data).anchor == "42"
    assert folder_contact_from_graph({"id": "c2"}).anchor == ""


def test_a_changed_email_updates_the_anchored_contact_and_replaces_the_old_address() -> None:
    folder = [contact("c1", "old@example.com", "home@example.com", anchor="1")]
    plan = build_plan([person("1", "new@example.com")], folder)
    found = item(plan, "1")
    assert found.state is State.UPDATE
    assert found.match is Match.ANCHOR
    assert found.office365_id == "c1"
    assert found.changes == (
        FieldChange("emailAddresses[0]", "old@example.com", "new@example.com"),
    )
    # Central's old address is replaced, not kept as a second one; Outlook's own one stays.
    assert [e["address"] for e in found.body["emailAddresses"]] == [
        "new@example.com",
        "home@example.com",
    ]


def test_an_email_match_without_anchor_keeps_the_old_first_address() -> None:
    plan = build_plan(
        [person("1", "b@example.com")], [contact("c1", "a@example.com", "b@example.com")]
    )
    found = item(plan, "1")
    assert found.match is Match.EMAIL
    assert [e["address"] for e in found.body["emailAddresses"]] == [
        "b@example.com",
        "a@example.com",
    ]


def test_the_anchor_wins_over_another_contact_with_the_email() -> None:
    folder = [
        contact("mine", "old@example.com", anchor="1"),
        contact("theirs", "new@example.com"),  # a person's own contact with the new address
    ]
    found = item(build_plan([person("1", "new@example.com")], folder), "1")
    assert (found.state, found.office365_id, found.match) == (State.UPDATE, "mine", Match.ANCHOR)


def test_a_contact_carrying_another_records_anchor_is_a_conflict_not_a_takeover() -> None:
    folder = [contact("c1", "shared@example.com", anchor="1")]
    plan = build_plan([person("2", "shared@example.com")], folder)
    found = item(plan, "2")
    assert found.state is State.NON_ACTIONABLE
    assert found.reasons == (Reason.ANCHOR_CONFLICT,)
    assert found.match is Match.EMAIL and found.office365_id == "c1"
    assert "another Central record" in REASON_TEXT[Reason.ANCHOR_CONFLICT]


def test_the_anchored_record_keeps_its_contact_when_another_record_takes_its_old_email() -> None:
    folder = [contact("c1", "old@example.com", anchor="1")]
    plan = build_plan([person("1", "new@example.com"), person("2", "old@example.com")], folder)
    assert item(plan, "1").state is State.UPDATE
    assert item(plan, "2").reasons == (Reason.ANCHOR_CONFLICT,)


def test_two_contacts_carrying_one_anchor_make_the_record_non_actionable() -> None:
    folder = [
        contact("c1", "a@example.com", anchor="1"),
        contact("c2", "b@example.com", anchor="1"),
    ]
    found = item(build_plan([person("1", "a@example.com")], folder), "1")
    assert found.state is State.NON_ACTIONABLE
    assert found.reasons == (Reason.ANCHOR_CONFLICT,)
    assert found.office365_id is None and found.match is None


def test_a_shared_id_finds_nothing_by_anchor() -> None:
    folder = [contact("c1", "a@example.com", anchor="1")]
    plan = build_plan([person("1", "a@example.com"), person("1", "b@example.com")], folder)
    assert all(Reason.DUPLICATE_ID in i.reasons for i in plan.items)
    assert all(i.match is not Match.ANCHOR for i in plan.items)


def test_an_anchored_contact_already_equal_is_unchanged() -> None:
    found = item(
        build_plan([person("1", "a@example.com")], [contact("c1", "a@example.com", anchor="1")]),
        "1",
    )
    assert (found.state, found.match) == (State.UNCHANGED, Match.ANCHOR)


def test_new_records_match_nothing() -> None:
    found = item(build_plan([person("1", "a@example.com")], []), "1")
    assert (found.state, found.match) == (State.NEW, None)


def test_every_write_carries_the_records_anchor() -> None:
    plan = build_plan(
        [person("1", "a@example.com"), person("2", "b@example.com", title="Dr")],
        [contact("c2", "b@example.com")],
    )
    writes, _ = select(plan, Selection(everything=True))
    assert {w.key: w.body["singleValueExtendedProperties"] for w in writes} == {
        "1": anchor_property("1")["singleValueExtendedProperties"],
        "2": anchor_property("2")["singleValueExtendedProperties"],
    }
    # The plan's own body stays the synced properties only (what the pages show).
    assert "singleValueExtendedProperties" not in item(plan, "2").body


def test_synced_values_name_every_synced_field() -> None:
    values = synced_values(contact("c1", "a@example.com", mobilePhone=" 07700 "))
    assert values["emailAddresses[0]"] == "a@example.com"
    assert values["mobilePhone"] == "07700"
    assert values["homeAddress.postalCode"] == ""
    assert len(values) == 5 + 2 + 2 * 5


emails = st.sampled_from(["a@example.com", "b@example.com", "c@example.com"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("123"), emails), max_size=3, unique_by=lambda t: t[0]),
    st.lists(st.tuples(emails, st.sampled_from(["", "1", "2", "3", "9"])), max_size=4),
)
def test_applying_a_plan_never_gives_one_record_two_contacts(
    records: list[tuple[str, str]], folder: list[tuple[str, str]]
) -> None:
    """Apply the plan as the folder would (anchor written with every write), plan again:
    no record gains a second contact, and every actionable record is then in sync."""
    contacts = {
        f"c{n}": contact(f"c{n}", email, anchor=anchor) for n, (email, anchor) in enumerate(folder)
    }
    central = [person(key, email) for key, email in records]
    plan = build_plan(central, contacts.values())
    for entry in plan.items:
        if entry.state is State.NEW:
            contacts[f"new{entry.key}"] = contact(f"new{entry.key}", entry.email, anchor=entry.key)
        elif entry.state is State.UPDATE:
            assert entry.office365_id is not None
            old = contacts[entry.office365_id]
            addresses = [e["address"] for e in entry.body.get("emailAddresses", [])] or [
                e.address for e in old.email_addresses
            ]
            contacts[entry.office365_id] = contact(entry.office365_id, *addresses, anchor=entry.key)
    again = build_plan(central, contacts.values())
    for entry in again.items:
        mine = [c for c in contacts.values() if c.anchor == entry.key]
        assert len(mine) <= 1 or entry.state is State.NON_ACTIONABLE
        before = item(plan, entry.key).state
        if before in (State.NEW, State.UPDATE):
            assert entry.state is State.UNCHANGED, entry
