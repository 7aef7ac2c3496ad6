"""A column the source did not have is "not provided": never compared, never cleared."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from central365.core.model import (
    CANONICAL_COLUMNS,
    REQUIRED_COLUMNS,
    CentralAddress,
    CentralContact,
    State,
)
from central365.core.plan import build_plan
from central365.core.provided import COLUMN_FIELDS, missing_columns, synced_fields

from .test_plan import contact, item, person

EVERYTHING_IN_OUTLOOK: dict[str, Any] = {
    "title": "Ms",
    "mobilePhone": "07700 900001",
    "businessHomePage": "https://ann.example.com",
    "businessPhones": ["0113 496 0000"],
    "homeAddress": {
        "street": "1 High Street",
        "city": "Leeds",
        "state": "West Yorkshire",
        "countryOrRegion": "UK",
        "postalCode": "LS1 1AA",
    },
    "businessAddress": {"street": "2 Low Road", "city": "York", "postalCode": "YO1 1AA"},
}

WITHOUT_MOBILE_TELEPHONE_TOWN = [
    c for c in CANONICAL_COLUMNS if c not in ("mobile", "telephone", "home_town")
]


def test_missing_optional_columns_are_listed_in_canonical_order() -> None:
    assert missing_columns(None) == ()
    assert missing_columns(CANONICAL_COLUMNS) == ()
    assert missing_columns(WITHOUT_MOBILE_TELEPHONE_TOWN) == ("mobile", "telephone", "home_town")
    # Required columns are never "missing": a source without one cannot be read at all.
    assert missing_columns(()) == tuple(c for c in CANONICAL_COLUMNS if c not in REQUIRED_COLUMNS)


def test_every_optional_column_feeds_one_synced_field() -> None:
    assert set(COLUMN_FIELDS) == set(CANONICAL_COLUMNS) - {"id", "status"}
    assert synced_fields(None) == frozenset(COLUMN_FIELDS.values())
    only_required = synced_fields(REQUIRED_COLUMNS)
    assert only_required == {"givenName", "surname", "emailAddresses[0]"}


def test_missing_columns_never_clear_and_are_on_the_plan() -> None:
    plan = build_plan(
        [person("1", "ann@example.com", title="Ms")],
        [contact("c1", "ann@example.com", **EVERYTHING_IN_OUTLOOK)],
        provided_columns=WITHOUT_MOBILE_TELEPHONE_TOWN,
    )
    ann = item(plan, "1")
    fields = {c.field for c in ann.changes}
    assert "mobilePhone" not in fields and "businessPhones[0]" not in fields
    assert "homeAddress.city" not in fields and "mobilePhone" not in ann.body
    assert "businessPhones" not in ann.body
    # Provided columns blank in Central still clear: Central is master for what it provides.
    assert "businessHomePage" in fields and "homeAddress.street" in fields
    # The home address is sent whole, its town kept as Outlook has it.
    assert ann.body["homeAddress"] == {
        "street": None,
        "city": "Leeds",
        "state": None,
        "countryOrRegion": None,
        "postalCode": None,
    }
    assert plan.missing_columns == ("mobile", "telephone", "home_town")


def test_a_record_equal_on_the_provided_columns_is_unchanged() -> None:
    record = person(
        "1",
        "ann@example.com",
        title="Ms",
        website="https://ann.example.com",
        home=CentralAddress(
            line1="1 High Street", county="West Yorkshire", country="UK", postcode="LS1 1AA"
        ),
        business=CentralAddress(line1="2 Low Road", town="York", postcode="YO1 1AA"),
    )
    folder = [contact("c1", "ann@example.com", **EVERYTHING_IN_OUTLOOK)]
    assert item(build_plan([record], folder), "1").state is State.UPDATE
    partial = build_plan([record], folder, provided_columns=WITHOUT_MOBILE_TELEPHONE_TOWN)
    assert item(partial, "1").state is State.UNCHANGED


def test_a_street_line_missing_reads_as_blank_when_another_is_there() -> None:
    columns = [c for c in CANONICAL_COLUMNS if c != "home_address_line2"]
    record = person("1", "ann@example.com", home=CentralAddress(line1="1 High St", line3="Leeds"))
    plan = build_plan(
        [record],
        [contact("c1", "ann@example.com", homeAddress={"street": "Old"})],
        provided_columns=columns,
    )
    assert ("homeAddress.street", "Old", "1 High St, Leeds") in {
        (c.field, c.before, c.after) for c in item(plan, "1").changes
    }
    assert plan.missing_columns == ("home_address_line2",)


def test_new_contacts_get_only_what_was_provided() -> None:
    plan = build_plan(
        [person("1", "ann@example.com")], [], provided_columns=WITHOUT_MOBILE_TELEPHONE_TOWN
    )
    body = item(plan, "1").body
    assert "mobilePhone" not in body and "businessPhones" not in body
    assert plan.folder_size == 0


_OPTIONAL = [c for c in CANONICAL_COLUMNS if c not in REQUIRED_COLUMNS and c != "status"]


@given(st.sets(st.sampled_from(_OPTIONAL)))
def test_no_change_ever_touches_a_field_whose_columns_are_all_missing(missing: set[str]) -> None:
    provided = [c for c in CANONICAL_COLUMNS if c not in missing]
    record = CentralContact.from_row(
        {"id": "1", "status": "active", "first_name": "A", "last_name": "B", "email": "a@b.c"}
    )
    plan = build_plan(
        [record], [contact("c1", "a@b.c", **EVERYTHING_IN_OUTLOOK)], provided_columns=provided
    )
    fed = synced_fields(provided)
    for change in item(plan, "1").changes:
        assert change.field in fed
