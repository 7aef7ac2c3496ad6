"""Demo and test data: a Central of a few hundred contacts and an Office 365 folder to match.

Deterministic (seeded), and built so that every rule shows up: new records, records that match
with differences, records already in sync, excluded (inactive) records, each non-actionable
reason, a duplicate inside the folder, an Outlook-only contact, two contacts only in Office 365
(central365 wrote them, and their records are now inactive or gone), and a contact with the
same email in another folder (which must never be matched or touched).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, create_engine, insert

from central365.core.mapping import anchor_property, create_body, desired_contact
from central365.core.model import CANONICAL_COLUMNS, CentralContact

FIRST = [
    "Ann",
    "Bob",
    "Chloé",
    "Dmitri",
    "Efua",
    "Finn",
    "Grace",
    "Hiro",
    "Ines",
    "Jamal",
    "Kasia",
    "Liam",
    "Mei",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
]
LAST = [
    "Smith",
    "Okafor",
    "Müller",
    "Nakamura",
    "O'Brien",
    "García",
    "Kowalski",
    "Patel",
    "Nguyen",
    "Jensen",
    "Silva",
    "Haddad",
    "Ivanova",
    "Lee",
    "Brown",
    "Dubois",
]
TOWNS = [
    ("Leeds", "West Yorkshire"),
    ("York", "North Yorkshire"),
    ("Bristol", ""),
    ("Manchester", "Greater Manchester"),
    ("Cardiff", "South Glamorgan"),
]

OTHER_FOLDER = "Personal"


@dataclass(frozen=True, slots=True)
class DemoData:
    """Central rows (canonical columns) and the Graph JSON of the demo folders' contacts."""

    rows: list[dict[str, str]]
    folder_contacts: list[dict[str, Any]]
    other_folder_contacts: list[dict[str, Any]]


def _row(rng: random.Random, n: int) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    town, county = rng.choice(TOWNS)
    has_home = rng.random() < 0.7
    return {
        "id": str(1000 + n),
        "status": rng.choice(["Active", "active", " ACTIVE "]),
        "title": rng.choice(["", "Mr", "Ms", "Dr", "Mx"]),
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}.{n}@example.com".replace("'", ""),
        "mobile": f"07700 9{n:05d}" if rng.random() < 0.6 else "",
        "telephone": f"0113 496 {n:04d}" if rng.random() < 0.5 else "",
        "website": f"https://www.example.com/people/{n}" if rng.random() < 0.2 else "",
        "home_address_line1": f"Flat {n % 40 + 1}" if has_home else "",
        "home_address_line2": "King's Court" if has_home and rng.random() < 0.5 else "",
        "home_address_line3": f"{n % 90 + 1} Long Street" if has_home else "",
        "home_town": town if has_home else "",
        "home_county": county if has_home else "",
        "home_country": "United Kingdom" if has_home else "",
        "home_postcode": f"LS{n % 20 + 1} {n % 9}AB" if has_home else "",
        "business_address_line1": f"Unit {n % 12 + 1}" if rng.random() < 0.3 else "",
        "business_address_line2": "",
        "business_address_line3": "",
        "business_town": "",
        "business_county": "",
        "business_country": "",
        "business_postcode": "",
    }


def build_demo_data(size: int = 300, seed: int = 365) -> DemoData:
    """A Central of `size` records (at least 60) and folders seeded against it."""
    rng = random.Random(seed)
    rows = [_row(rng, n) for n in range(max(size, 60))]

    # Excluded: not active.
    for n, status in zip(range(0, 20), ["inactive", "Archived", "", "lead"] * 5, strict=False):
        rows[n]["status"] = status
    # Non-actionable, one reason each, then a record with several.
    rows[20]["first_name"] = "Deceased"
    rows[21]["last_name"] = "Brown (deceased)"
    rows[22]["first_name"] = ""
    rows[23]["last_name"] = "  "
    rows[24]["email"] = ""
    rows[25]["email"] = "not-an-email"
    rows[26]["email"] = "tariq@@example.com"
    rows[27]["email"] = rows[28]["email"] = "shared.inbox@example.com"
    rows[29].update(first_name="DECEASED", last_name="", email="broken@")
    # Unicode and markup are kept as text.
    rows[30].update(first_name="Zoë", last_name="Ørsted-Łukasz")
    rows[31].update(first_name="<script>alert(1)</script>", last_name="Tag")

    folder: list[dict[str, Any]] = []
    records = [CentralContact.from_row(r) for r in rows]
    # In sync: exactly what Central would write.
    for record in records[32:52]:
        folder.append(create_body(desired_contact(record)))
    # Matches with differences, each a different kind of difference.
    for offset, record in enumerate(records[52:72]):
        body = create_body(desired_contact(record))
        kind = offset % 5
        if kind == 0:
            body["givenName"] = "Patrick"
            body["surname"] = "Parker"
            body["displayName"] = "Patrick Parker"
        elif kind == 1:
            body["mobilePhone"] = "07000 000000"
            body["personalNotes"] = "Met at the spring fair."
            body["categories"] = ["VIP"]
        elif kind == 2:
            body["emailAddresses"] = [
                {"address": "old.address@example.org", "name": "old"},
                {"address": record.email.upper(), "name": record.email},
            ]
        elif kind == 3:
            body["homeAddress"] = {"street": "1 Old Road", "city": "Leeds"}
        else:
            body["businessPhones"] = ["0000 000000", "0113 000 0002"]
            body["title"] = "Prof"
        folder.append(body)
    # Two folder contacts share one Central email: that record is a duplicate.
    dup = create_body(desired_contact(records[72]))
    folder.extend([dict(dup), {**dup, "displayName": "Copy", "givenName": "Copy"}])
    # Outlook-only contact: never touched.
    folder.append(
        {
            "displayName": "Outlook Only",
            "givenName": "Outlook",
            "surname": "Only",
            "emailAddresses": [{"address": "outlook.only@example.org", "name": "Outlook Only"}],
            "personalNotes": "Added in Outlook by hand.",
        }
    )
    # Only in Office 365: central365 wrote them (they carry their Central ids), and their
    # records are now inactive (row 0) or gone from Central (an id no row has).
    gone = CentralContact.from_row(
        {
            "id": "999001",
            "first_name": "Gale",
            "last_name": "Gone",
            "email": "gale.gone@example.com",
        }
    )
    folder.append(create_body(desired_contact(records[0])) | anchor_property(records[0].key))
    folder.append(create_body(desired_contact(gone)) | anchor_property(gone.key))
    other = [create_body(desired_contact(records[73])) | {"personalNotes": "In another folder."}]
    return DemoData(rows=rows, folder_contacts=folder, other_folder_contacts=other)


def write_sqlite(path: Path, rows: Sequence[dict[str, str]], table: str = "contacts") -> None:
    """Write rows into a fresh SQLite table with the canonical columns (replacing the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    try:
        metadata = MetaData()
        contacts = Table(table, metadata, *(Column(name, String) for name in CANONICAL_COLUMNS))
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(insert(contacts), list(rows))
    finally:
        engine.dispose()
