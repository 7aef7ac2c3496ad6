"""The lean paths a large plan takes hold to the same answers as the plain ones.

A million-record plan reads records from lists, shares blank addresses, keeps a new contact's
body as a view over its changes, and writes `plan --json` lines by hand; each is compared here
with the straightforward construction it stands for.
"""

from __future__ import annotations

import gc
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central365.core.mapping import (
    ADDRESS_FIELDS,
    NewContactBody,
    NewContactChanges,
    create_body,
    desired_contact,
    folder_contact_from_graph,
    new_contact_changes,
    postal_address,
)
from central365.core.model import (
    CANONICAL_COLUMNS,
    NO_ADDRESS,
    CentralAddress,
    CentralContact,
    EmailAddress,
    FieldChange,
    FolderContact,
    PlanItem,
    PostalAddress,
    Reason,
    State,
)
from central365.core.plan import build_plan
from central365.engine.collector import cycle_collector_paused
from central365.engine.serialize import item_json, item_line, plan_json, write_plan_json
from central365.engine.service import FolderRef, PlanReport

#: Text as exports hold it: blanks, padding, quotes, non-ASCII, control characters.
values = st.one_of(
    st.sampled_from(["", " ", "Ann", " Lee ", "Zoë", 'Say "hi"', "a\\b", "line\nbreak", "\x00"]),
    st.text(max_size=12),
)


@st.composite
def records(draw: st.DrawFn) -> CentralContact:
    row = {name: draw(values) for name in CANONICAL_COLUMNS}
    row["email"] = draw(st.sampled_from(["a@example.com", " B@Example.com ", row["email"]]))
    return CentralContact.from_row(row, line=draw(st.one_of(st.none(), st.integers(1, 10**6))))


@given(records())
def test_a_new_contacts_body_is_create_body_key_for_key_in_order(record: CentralContact) -> None:
    desired = desired_contact(record)
    body = NewContactBody(desired.display_name, new_contact_changes(record))
    expected = create_body(desired)
    assert list(body.items()) == list(expected.items())
    assert body == expected and dict(body) == expected and len(body) == len(expected)
    assert repr(body) == f"NewContactBody({expected!r})"


@given(records())
def test_a_new_contacts_changes_are_its_body_as_changes_from_nothing(
    record: CentralContact,
) -> None:
    body = create_body(desired_contact(record))
    changes = new_contact_changes(record)
    assert all(change.before is None for change in changes)
    # Every property but the email (always listed: a new record has a valid one) is non-blank.
    assert all(change.after for change in changes if change.field != "emailAddresses[0]")
    scalars = [c.field for c in changes if "." not in c.field and "[" not in c.field]
    assert scalars == [k for k in body if k not in {"displayName"} and isinstance(body[k], str)]
    addresses = {c.field.partition(".")[0] for c in changes if "." in c.field}
    assert addresses == {k for k in body if k.endswith("Address")}


def test_a_plan_of_new_records_sends_create_body() -> None:
    record = CentralContact.from_row(
        {"id": "1", "status": "active", "first_name": "Ann", "last_name": "Lee"}
        | {"email": "a@example.com", "home_town": " Leeds ", "telephone": "0113"}
    )
    (item,) = build_plan([record], []).items
    assert item.state is State.NEW
    assert dict(item.body) == create_body(desired_contact(record))


@given(st.lists(values, min_size=len(CANONICAL_COLUMNS), max_size=len(CANONICAL_COLUMNS)))
def test_from_values_is_from_row(row: list[str]) -> None:
    by_name = dict(zip(CANONICAL_COLUMNS, row, strict=True))
    assert CentralContact.from_values(row, 7) == CentralContact.from_row(by_name, 7)


def test_records_without_an_address_share_the_blank_one() -> None:
    record = CentralContact.from_values([""] * len(CANONICAL_COLUMNS))
    assert record.home is NO_ADDRESS and record.business is NO_ADDRESS
    padded = CentralContact.from_values([*[""] * 9, " ", *[""] * 13])
    assert padded.home.line1 == " " and padded.business is NO_ADDRESS


def test_postal_address_keeps_the_order_of_its_graph_parts() -> None:
    # `new_contact_changes` names an address's parts by position.
    assert PostalAddress._fields == ("street", "city", "state", "country_or_region", "postal_code")


@given(
    key=values,
    state=st.sampled_from(State),
    name=values,
    email=values,
    office365_id=st.one_of(st.none(), values),
    reasons=st.lists(st.sampled_from(Reason), max_size=3).map(tuple),
    changes=st.lists(
        st.builds(FieldChange, values, st.one_of(st.none(), values), st.one_of(st.none(), values)),
        max_size=4,
    ).map(tuple),
    deleted=st.booleans(),
)
def test_item_line_is_the_json_of_item_json(
    key: str,
    state: State,
    name: str,
    email: str,
    office365_id: str | None,
    reasons: tuple[Reason, ...],
    changes: tuple[FieldChange, ...],
    deleted: bool,
) -> None:
    item = PlanItem(
        key, state, name, email, office365_id, reasons, changes, deleted_in_office365=deleted
    )
    line = item_line(item)
    assert line == json.dumps(item_json(item), ensure_ascii=False)
    assert json.loads(line) == item_json(item)


def test_the_collector_is_paused_for_the_block_and_restored() -> None:
    assert gc.isenabled()
    with cycle_collector_paused():
        assert not gc.isenabled()
        with cycle_collector_paused():  # found off: leaves it off
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), cycle_collector_paused():
        raise RuntimeError
    assert gc.isenabled()


def test_streamed_json_of_a_plan_longer_than_one_write_is_the_whole_document() -> None:
    records = [
        CentralContact(str(n), "active", "", f"Ann{n}", "Lee", f"ann{n}@example.com")
        for n in range(2_345)  # more than two writes' worth of items, and a part of one
    ]
    made = PlanReport(
        "ann@contoso.test",
        FolderRef("Central Contacts", None, False),
        build_plan(records, []),
        datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
    )
    out = io.StringIO()
    write_plan_json(out, made)
    assert json.loads(out.getvalue()) == plan_json(made)


@given(records(), st.sets(st.sampled_from(["title", "mobilePhone", "homeAddress.city"])))
def test_a_new_contacts_changes_view_is_the_tuple_it_stands_for(
    record: CentralContact, ignored: set[str]
) -> None:
    expected = tuple(c for c in new_contact_changes(record) if c.field not in ignored)
    view = NewContactChanges(record, frozenset(ignored))
    assert view == expected and expected == view and view == list(expected)
    assert tuple(view) == expected and len(view) == len(expected)
    assert view[0] == expected[0] and view[-1] == expected[-1] and view[1:] == expected[1:]
    assert hash(view) == hash(expected) and repr(view) == repr(expected)
    assert view == NewContactChanges(record, frozenset(ignored))
    assert view != "not changes" and view != (*expected, FieldChange("x", None, "y"))


def test_a_plan_item_of_a_new_record_equals_one_made_with_its_changes_as_a_tuple() -> None:
    record = CentralContact("7", "active", "", "Ann", "Lee", "ann@example.com", "0770")
    (item,) = build_plan([record], []).items
    assert isinstance(item.changes, NewContactChanges)
    plain = item._replace(changes=new_contact_changes(record))
    assert item == plain and item_line(item) == item_line(plain)


@given(records(), st.sets(st.sampled_from(["title", "homeAddress.city", "businessPhones[0]"])))
def test_the_json_line_of_a_new_record_is_the_json_of_its_item(
    record: CentralContact, ignored: set[str]
) -> None:
    item = PlanItem(
        "1",
        State.NEW,
        "Ann Lee",
        "a@example.com",
        changes=NewContactChanges(record, frozenset(ignored)),
    )
    line = item_line(item)
    assert line == json.dumps(item_json(item), ensure_ascii=False)
    assert line == item_line(item._replace(changes=tuple(item.changes)))


def test_an_address_of_one_line_is_that_line_trimmed_and_of_several_the_non_blank_joined() -> None:
    one = CentralAddress(" 1 Long Street ", "", "", " Leeds ")
    several = CentralAddress(" 1 Long Street ", " ", "Flat 2 ")
    assert postal_address(one) == PostalAddress("1 Long Street", "Leeds")
    assert postal_address(several).street == "1 Long Street, Flat 2"


def _plain_folder_contact(data: dict[str, Any]) -> FolderContact:
    """`folder_contact_from_graph` as first written: each value through one small rule."""

    def string(value: object) -> str:
        return value if isinstance(value, str) else ""

    def address(raw: object) -> PostalAddress:
        if not isinstance(raw, dict):
            return PostalAddress()
        return PostalAddress(
            **{attr: string(raw.get(part)) for part, attr in ADDRESS_FIELDS.items()}
        )

    emails, phones = data.get("emailAddresses"), data.get("businessPhones")
    return FolderContact(
        id=string(data.get("id")),
        display_name=string(data.get("displayName")),
        title=string(data.get("title")),
        given_name=string(data.get("givenName")),
        surname=string(data.get("surname")),
        mobile_phone=string(data.get("mobilePhone")),
        business_home_page=string(data.get("businessHomePage")),
        email_addresses=tuple(
            EmailAddress(address=string(e.get("address")), name=string(e.get("name")))
            for e in (emails if isinstance(emails, list) else [])
            if isinstance(e, dict) and string(e.get("address"))
        ),
        business_phones=tuple(
            p for p in (phones if isinstance(phones, list) else []) if isinstance(p, str) and p
        ),
        home_address=address(data.get("homeAddress")),
        business_address=address(data.get("businessAddress")),
        change_key=string(data.get("changeKey")),
    )


graph_values = st.one_of(st.none(), st.integers(), values, st.lists(values, max_size=2))
graph_addresses = st.one_of(
    graph_values, st.dictionaries(st.sampled_from([*ADDRESS_FIELDS, "x"]), graph_values)
)
graph_emails = st.one_of(
    graph_values,
    st.lists(
        st.one_of(
            graph_values,
            st.dictionaries(st.sampled_from(["address", "name", "x"]), graph_values),
        ),
        max_size=3,
    ),
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            **{
                name: graph_values
                for name in (
                    "id",
                    "displayName",
                    "title",
                    "givenName",
                    "surname",
                    "mobilePhone",
                    "businessHomePage",
                    "changeKey",
                    "businessPhones",
                )
            },
            "businessPhones": st.one_of(graph_values, st.lists(graph_values, max_size=3)),
            "emailAddresses": graph_emails,
            "homeAddress": graph_addresses,
            "businessAddress": graph_addresses,
        },
    )
)
def test_a_graph_contact_reads_as_it_did_value_by_value(data: dict[str, Any]) -> None:
    assert folder_contact_from_graph(data) == _plain_folder_contact(data)
