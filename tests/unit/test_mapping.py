"""The field table: Central columns → Graph properties, and Graph JSON → FolderContact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from central365.core.mapping import create_body, desired_contact, folder_contact_from_graph
from central365.core.model import CentralAddress, CentralContact, EmailAddress, PostalAddress

EXAMPLES = Path(__file__).resolve().parents[1] / "data"


def full_record() -> CentralContact:
    return CentralContact(
        key="7",
        status="active",
        title=" Dr ",
        first_name=" Ann ",
        last_name="Lee",
        email=" Ann@Example.com ",
        mobile="07700 900123",
        telephone="020 7946 0000",
        website="https://ann.example.com",
        home=CentralAddress(
            "Flat 1", "King's Court", "10 Long Street", "Leeds", "West Yorks", "UK", "LS1 1AA"
        ),
        business=CentralAddress("", " Unit 4 ", "", "York", "", "United Kingdom", "YO1 7HH"),
    )


def test_create_body_maps_every_field() -> None:
    body = create_body(desired_contact(full_record()))
    assert body == {
        "displayName": "Ann Lee",
        "title": "Dr",
        "givenName": "Ann",
        "surname": "Lee",
        "mobilePhone": "07700 900123",
        "businessHomePage": "https://ann.example.com",
        "emailAddresses": [{"address": "Ann@Example.com", "name": "Ann Lee"}],
        "businessPhones": ["020 7946 0000"],
        "homeAddress": {
            "street": "Flat 1, King's Court, 10 Long Street",
            "city": "Leeds",
            "state": "West Yorks",
            "countryOrRegion": "UK",
            "postalCode": "LS1 1AA",
        },
        "businessAddress": {
            "street": "Unit 4",
            "city": "York",
            "state": None,
            "countryOrRegion": "United Kingdom",
            "postalCode": "YO1 7HH",
        },
    }


def test_create_body_leaves_out_blanks() -> None:
    record = CentralContact(key="1", status="active", first_name="A", last_name="B", email="a@b.co")
    assert create_body(desired_contact(record)) == {
        "displayName": "A B",
        "givenName": "A",
        "surname": "B",
        "emailAddresses": [{"address": "a@b.co", "name": "A B"}],
    }


@pytest.mark.parametrize(
    ("lines", "street"),
    [
        (("Flat 1", "King's Court", "10 Long Street"), "Flat 1, King's Court, 10 Long Street"),
        (("  Flat 1 ", "", " 10 Long Street"), "Flat 1, 10 Long Street"),
        (("", "", ""), ""),
        (("", "   ", "Only"), "Only"),
    ],
)
def test_street_joins_non_blank_lines(lines: tuple[str, str, str], street: str) -> None:
    record = CentralContact(key="1", home=CentralAddress(*lines))
    assert desired_contact(record).addresses["homeAddress"].street == street


def test_folder_contact_from_documented_get_response() -> None:
    examples = json.loads((EXAMPLES / "graph-contact-examples.json").read_text())
    get = next(e["body"] for e in examples if e["source"].endswith("contact-get.md"))
    contact = folder_contact_from_graph(get)
    assert contact.given_name == "Alex"
    assert contact.title == ""  # null reads as blank
    assert contact.home_address == PostalAddress()  # {} reads as blank
    assert contact.email_addresses == (
        EmailAddress(address="Alex@FineArtSchool.net", name="Alex@FineArtSchool.net"),
    )
    assert contact.change_key == get["changeKey"]


def test_folder_contact_from_documented_update_response() -> None:
    examples = json.loads((EXAMPLES / "graph-contact-examples.json").read_text())
    patched = next(e["body"] for e in examples if e["source"].endswith("contact-update.md"))
    contact = folder_contact_from_graph(patched)
    assert contact.home_address == PostalAddress(
        street="123 Some street", city="Seattle", state="WA", postal_code="98121"
    )
    assert contact.business_phones == ("+1 918 555 0101",)
    assert contact.business_home_page == "https://www.contoso.com"
