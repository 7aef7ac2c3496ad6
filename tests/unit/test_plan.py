"""The planner: states, matching, duplicates, diffs and the PATCH bodies (tables + properties)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central365.core.mapping import folder_contact_from_graph
from central365.core.model import (
    CentralAddress,
    CentralContact,
    FieldChange,
    FolderContact,
    Plan,
    PlanItem,
    Reason,
    RowProblem,
    State,
)
from central365.core.plan import build_plan


def person(key: str, email: str, **fields: Any) -> CentralContact:
    values: dict[str, Any] = {"status": "active", "first_name": "Ann", "last_name": "Lee"}
    values.update(fields)
    return CentralContact(key=key, email=email, **values)


def contact(cid: str, *emails: str, **graph: Any) -> FolderContact:
    data: dict[str, Any] = {
        "id": cid,
        "givenName": "Ann",
        "surname": "Lee",
        "displayName": "Ann Lee",
        "emailAddresses": [{"address": e, "name": e} for e in emails],
    }
    data.update(graph)
    return folder_contact_from_graph(data)


def item(plan: Plan, key: str) -> PlanItem:
    return next(i for i in plan.items if i.key == key)


def test_states() -> None:
    plan = build_plan(
        [
            person("new", "new@example.com"),
            person("same", "same@example.com"),
            person("changed", "changed@example.com", title="Dr"),
            person("gone", "gone@example.com", status="inactive"),
        ],
        [contact("c1", "same@example.com"), contact("c2", "changed@example.com")],
    )
    assert [(i.key, i.state) for i in plan.items] == [
        ("new", State.NEW),
        ("same", State.UNCHANGED),
        ("changed", State.UPDATE),
    ]
    assert plan.excluded == 1
    assert item(plan, "same").office365_id == "c1"
    assert item(plan, "changed").body == {"title": "Dr", "displayName": "Ann Lee"}
    assert item(plan, "new").office365_id is None


def test_matching_is_by_any_address_in_any_case_and_trimmed() -> None:
    plan = build_plan(
        [person("1", "  John@Outlook.com ", first_name="John", last_name="Smith")],
        [
            contact(
                "c1",
                "work@example.com",
                "john@outlook.COM",
                givenName="Patrick",
                surname="Parker",
            )
        ],
    )
    found = item(plan, "1")
    assert found.state is State.UPDATE
    assert found.office365_id == "c1"
    assert FieldChange("givenName", "Patrick", "John") in found.changes
    assert FieldChange("emailAddresses[0]", "work@example.com", "John@Outlook.com") in found.changes
    # Central's email goes first; the contact's other addresses are kept after it.
    assert found.body["emailAddresses"] == [
        {"address": "John@Outlook.com", "name": "John Smith"},
        {"address": "work@example.com", "name": "work@example.com"},
    ]


def test_email_case_difference_is_not_a_change() -> None:
    plan = build_plan([person("1", "ANN@example.com")], [contact("c1", "ann@EXAMPLE.com")])
    assert item(plan, "1").state is State.UNCHANGED


def test_blank_values_compare_equal_whatever_their_graph_form() -> None:
    graph = {"title": None, "mobilePhone": "", "homeAddress": {}, "businessPhones": []}
    plan = build_plan(
        [person("1", "a@example.com", title="  ")], [contact("c", "a@example.com", **graph)]
    )
    assert item(plan, "1").state is State.UNCHANGED


def test_blank_central_value_clears_office365_value() -> None:
    plan = build_plan(
        [person("1", "a@example.com")],
        [
            contact(
                "c",
                "a@example.com",
                mobilePhone="0770",
                businessPhones=["111", "222"],
                homeAddress={"street": "1 Road", "city": "Leeds"},
            )
        ],
    )
    found = item(plan, "1")
    assert found.state is State.UPDATE
    assert found.body["mobilePhone"] is None
    assert found.body["businessPhones"] == []
    assert found.body["homeAddress"] == {
        "street": None,
        "city": None,
        "state": None,
        "countryOrRegion": None,
        "postalCode": None,
    }
    assert FieldChange("homeAddress.city", "Leeds", None) in found.changes


def test_telephone_replaces_first_business_phone_and_keeps_the_second() -> None:
    plan = build_plan(
        [person("1", "a@example.com", telephone="333")],
        [contact("c", "a@example.com", businessPhones=["111", "222"])],
    )
    assert item(plan, "1").body["businessPhones"] == ["333", "222"]


def test_collections_stay_within_graph_limits() -> None:
    plan = build_plan(
        [person("1", "d@example.com")],
        [contact("c", "a@example.com", "b@example.com", "d@example.com")],
    )
    emails = [e["address"] for e in item(plan, "1").body["emailAddresses"]]
    assert emails == ["d@example.com", "a@example.com", "b@example.com"]


def test_address_changes_send_the_whole_address() -> None:
    plan = build_plan(
        [
            person(
                "1",
                "a@example.com",
                home=CentralAddress("Flat 1", "King's Court", "10 Long Street", "Leeds"),
            )
        ],
        [contact("c", "a@example.com", homeAddress={"street": "Flat 1", "city": "Leeds"})],
    )
    found = item(plan, "1")
    assert found.changes == (
        FieldChange("homeAddress.street", "Flat 1", "Flat 1, King's Court, 10 Long Street"),
    )
    assert found.body == {
        "homeAddress": {
            "street": "Flat 1, King's Court, 10 Long Street",
            "city": "Leeds",
            "state": None,
            "countryOrRegion": None,
            "postalCode": None,
        },
        "displayName": "Ann Lee",
    }


def test_unsynced_properties_are_never_in_a_body() -> None:
    plan = build_plan(
        [person("1", "a@example.com", first_name="Anne")],
        [contact("c", "a@example.com", personalNotes="met at fair", categories=["VIP"])],
    )
    assert set(item(plan, "1").body) == {"givenName", "displayName"}


def test_duplicate_emails_among_clean_central_records() -> None:
    plan = build_plan(
        [
            person("1", "dup@example.com"),
            person("2", " DUP@example.com"),
            person("3", "dup@example.com", first_name="Deceased"),
            person("4", "solo@example.com"),
            person("5", "solo@example.com", first_name=""),
        ],
        [],
    )
    assert item(plan, "1").reasons == (Reason.DUPLICATE_EMAIL,)
    assert item(plan, "2").reasons == (Reason.DUPLICATE_EMAIL,)
    assert item(plan, "3").reasons == (Reason.DECEASED,)
    # A record that is non-actionable for another reason does not make others duplicates.
    assert item(plan, "4").state is State.NEW
    assert item(plan, "5").reasons == (Reason.MISSING_NAME,)


def test_duplicate_email_in_the_folder() -> None:
    plan = build_plan(
        [person("1", "two@example.com"), person("2", "two@example.com", last_name="deceased")],
        [contact("a", "two@example.com"), contact("b", "TWO@example.com")],
    )
    assert item(plan, "1").reasons == (Reason.DUPLICATE_EMAIL,)
    assert item(plan, "2").reasons == (Reason.DECEASED, Reason.DUPLICATE_EMAIL)


def test_one_contact_matched_by_two_records_is_a_duplicate() -> None:
    plan = build_plan(
        [person("1", "home@example.com"), person("2", "work@example.com")],
        [contact("c", "home@example.com", "work@example.com")],
    )
    assert [i.reasons for i in plan.items] == [(Reason.DUPLICATE_EMAIL,)] * 2


def test_every_reason_is_listed() -> None:
    plan = build_plan([person("1", "bad", first_name=" deceased ", last_name="")], [])
    assert item(plan, "1").reasons == (Reason.DECEASED, Reason.MISSING_NAME, Reason.INVALID_EMAIL)
    assert item(plan, "1").state is State.NON_ACTIONABLE


def test_row_problems_are_kept_and_do_not_stop_the_plan() -> None:
    plan = build_plan([RowProblem(3, "row has 2 fields"), person("1", "a@example.com")], [])
    assert plan.problems == (RowProblem(3, "row has 2 fields"),)
    assert plan.count(State.NEW) == 1


def test_unicode_is_kept() -> None:
    plan = build_plan([person("1", "zoë@example.com", first_name="Zoë", last_name="Ørsted")], [])
    assert item(plan, "1").body["displayName"] == "Zoë Ørsted"


# --- properties -------------------------------------------------------------------------------

EMAILS = [
    "ann@example.com",
    "ANN@example.com ",
    "bob@example.org",
    "carl@example.net",
    "dee@example.co.uk",
    "eve@example.com",
    "not-an-email",
    "",
    "  ",
]
words = st.sampled_from(["", " ", "Ann", " Lee ", "Zoë", "O'Neil", "Deceased", "x" * 40, "Smith"])
blanks = st.sampled_from([None, "", " "])


@st.composite
def central_records(draw: st.DrawFn) -> list[CentralContact]:
    count = draw(st.integers(0, 12))
    return [
        CentralContact(
            key=str(n),
            status=draw(st.sampled_from(["active", " ACTIVE", "inactive"])),
            title=draw(st.sampled_from(["", "Dr", "Ms "])),
            first_name=draw(words),
            last_name=draw(words),
            email=draw(st.sampled_from(EMAILS)),
            mobile=draw(st.sampled_from(["", "0770", " 0771 "])),
            telephone=draw(st.sampled_from(["", "111", "222 "])),
            website=draw(st.sampled_from(["", "https://a.example"])),
            home=CentralAddress(
                draw(st.sampled_from(["", "Flat 1", " 2 Road"])),
                draw(st.sampled_from(["", "King's Court"])),
                "",
                draw(st.sampled_from(["", "Leeds"])),
            ),
        )
        for n in range(count)
    ]


@st.composite
def folder_json(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 8))
    contacts = []
    for n in range(count):
        emails = draw(st.lists(st.sampled_from([*EMAILS[:6], "other@example.com"]), max_size=3))
        contacts.append(
            {
                "id": f"c{n}",
                "givenName": draw(st.one_of(blanks, words)),
                "surname": draw(st.one_of(blanks, words)),
                "title": draw(st.one_of(blanks, st.just("Dr"))),
                "mobilePhone": draw(st.one_of(blanks, st.just("0770"))),
                "emailAddresses": [{"address": e, "name": e} for e in emails],
                "businessPhones": draw(st.lists(st.sampled_from(["111", "999"]), max_size=2)),
                "homeAddress": draw(st.sampled_from([{}, {"street": "Flat 1", "city": "Leeds"}])),
                "personalNotes": "keep me",
            }
        )
    return contacts


def apply(plan: Plan, folder: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply the plan with Graph's semantics: POST creates, PATCH replaces the given properties."""
    by_id = {c["id"]: dict(c) for c in folder}
    for entry in plan.items:
        if entry.state is State.NEW:
            by_id[f"new-{entry.key}"] = {"id": f"new-{entry.key}", **entry.body}
        elif entry.state is State.UPDATE:
            assert entry.office365_id is not None
            by_id[entry.office365_id].update(entry.body)
    return list(by_id.values())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(central_records(), folder_json())
def test_applying_a_plan_then_planning_again_leaves_nothing_to_do(
    records: list[CentralContact], folder: list[dict[str, Any]]
) -> None:
    plan = build_plan(records, [folder_contact_from_graph(c) for c in folder])
    for entry in plan.items:
        if entry.state is State.NON_ACTIONABLE:
            assert entry.reasons
        else:
            assert not entry.reasons
        if entry.state is State.UPDATE:
            assert entry.changes and "displayName" in entry.body
    after = apply(plan, folder)
    for c in after:
        assert len(c.get("emailAddresses", [])) <= 3
        assert len(c.get("businessPhones", [])) <= 2
        assert c.get("personalNotes", "keep me") == "keep me"
    replan = build_plan(records, [folder_contact_from_graph(c) for c in after])
    before = {i.key: i.state for i in plan.items}
    for entry in replan.items:
        if before[entry.key] in (State.NEW, State.UPDATE, State.UNCHANGED):
            assert entry.state is State.UNCHANGED, entry
    assert len(replan.items) == len(plan.items)


@pytest.mark.parametrize("size", [0, 1, 50])
def test_plan_counts_add_up(size: int) -> None:
    records = [person(str(n), f"p{n}@example.com") for n in range(size)]
    plan = build_plan(records, [])
    assert sum(plan.counts().values()) == size == len(plan.items)


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        # A blank or whitespace id is non-actionable, never "new" with key "".
        ([person("", "a@example.com")], [("", [Reason.MISSING_ID])]),
        ([person("  ", "a@example.com")], [("  ", [Reason.MISSING_ID])]),
        # Two blank ids are each missing, not duplicates of each other.
        (
            [person("", "a@example.com"), person("", "b@example.com")],
            [("", [Reason.MISSING_ID]), ("", [Reason.MISSING_ID])],
        ),
        # Every active row sharing an id is non-actionable (also across surrounding spaces).
        (
            [person("7", "a@example.com"), person(" 7", "b@example.com"), person("8", "c@x.com")],
            [("7", [Reason.DUPLICATE_ID]), (" 7", [Reason.DUPLICATE_ID]), ("8", [])],
        ),
        # An inactive row does not make an active one's id a duplicate.
        (
            [person("7", "a@example.com"), person("7", "b@example.com", status="inactive")],
            [("7", [])],
        ),
        # Own reasons come first, in the order of `Reason`; duplicate_id last.
        (
            [person("7", "", first_name=""), person("7", "b@example.com")],
            [
                ("7", [Reason.MISSING_NAME, Reason.MISSING_EMAIL, Reason.DUPLICATE_ID]),
                ("7", [Reason.DUPLICATE_ID]),
            ],
        ),
        # A record with a duplicate id claims no email: the other record keeps its own.
        (
            [
                person("7", "a@example.com"),
                person("7", "z@example.com"),
                person("9", "a@example.com"),
            ],
            [("7", [Reason.DUPLICATE_ID]), ("7", [Reason.DUPLICATE_ID]), ("9", [])],
        ),
    ],
)
def test_missing_and_duplicate_ids(
    records: list[CentralContact], expected: list[tuple[str, list[Reason]]]
) -> None:
    plan = build_plan(records, [])
    assert [(i.key, list(i.reasons)) for i in plan.items] == expected
    for planned, (_, reasons) in zip(plan.items, expected, strict=True):
        assert planned.state is (State.NON_ACTIONABLE if reasons else State.NEW)


def test_duplicate_id_and_email_shared_in_the_folder_keep_reason_order() -> None:
    plan = build_plan(
        [person("7", "a@example.com"), person("7", "b@example.com")],
        [contact("c1", "a@example.com"), contact("c2", "a@example.com")],
    )
    assert list(plan.items[0].reasons) == [Reason.DUPLICATE_EMAIL, Reason.DUPLICATE_ID]
    assert list(plan.items[1].reasons) == [Reason.DUPLICATE_ID]
