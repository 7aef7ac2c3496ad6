"""Central record ⇄ Graph contact JSON: the field table, in one place (pure).

| Central                       | Graph contact                               |
|-------------------------------|---------------------------------------------|
| title                         | title                                       |
| first_name                    | givenName                                   |
| last_name                     | surname                                     |
| mobile                        | mobilePhone                                 |
| email                         | first entry of emailAddresses               |
| telephone                     | first entry of businessPhones               |
| website                       | businessHomePage                            |
| home_address_line1..3         | homeAddress.street (joined with ", ")       |
| home_town / county / country  | homeAddress.city / state / countryOrRegion  |
| home_postcode                 | homeAddress.postalCode                      |
| business_…                    | businessAddress, likewise                   |

`desired_contact` says what the folder contact should look like; `plan.py` compares it with the
current contact and `update_body`/`create_body` turn the result into Graph JSON.

The Central anchor: every contact central365 writes carries the record's Central id in a
single-value extended property (reference §2.5: a named property `String {GUID} Name CentralId`
in one fixed namespace, sent in the POST/PATCH body, never in a response unless asked for with
`$expand=singleValueExtendedProperties($filter=id eq '…')`).  It lets a record find its contact
again after its email changed, and tells central365's contacts from people's own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from operator import attrgetter
from typing import Any, NamedTuple, overload

from central365.core.model import (
    NO_ADDRESS,
    NO_POSTAL_ADDRESS,
    CentralAddress,
    CentralContact,
    EmailAddress,
    FieldChange,
    FolderContact,
    PostalAddress,
)
from central365.core.normalize import display_name, email_key, join_street, text

#: Graph allows at most this many entries (reference §1.2: more is a 400, not a truncation).
MAX_EMAIL_ADDRESSES = 3
MAX_BUSINESS_PHONES = 2

#: The scalar string properties we sync: Graph property → CentralContact attribute.
SCALAR_FIELDS: Mapping[str, str] = {
    "title": "title",
    "givenName": "first_name",
    "surname": "last_name",
    "mobilePhone": "mobile",
    "businessHomePage": "website",
}

#: physicalAddress part → PostalAddress attribute, in Graph's order.
ADDRESS_FIELDS: Mapping[str, str] = {
    "street": "street",
    "city": "city",
    "state": "state",
    "countryOrRegion": "country_or_region",
    "postalCode": "postal_code",
}

ADDRESS_PROPERTIES: Mapping[str, str] = {"homeAddress": "home", "businessAddress": "business"}

#: "homeAddress.street" and the like, per address property, in the order of `ADDRESS_FIELDS`.
ADDRESS_PART_NAMES: Mapping[str, tuple[str, ...]] = {
    prop: tuple(f"{prop}.{part}" for part in ADDRESS_FIELDS) for prop in ADDRESS_PROPERTIES
}

#: The synced Graph properties in words, for people (the JSON keeps Graph's names).
FIELD_LABELS: Mapping[str, str] = {
    "title": "Title",
    "givenName": "First name",
    "surname": "Last name",
    "mobilePhone": "Mobile",
    "businessHomePage": "Website",
    "emailAddresses[0]": "Email",
    "businessPhones[0]": "Telephone",
    **{
        f"{prop}.{part}": f"{place} {words}"
        for prop, place in (("homeAddress", "Home"), ("businessAddress", "Business"))
        for part, words in (
            ("street", "street"),
            ("city", "town or city"),
            ("state", "county or state"),
            ("countryOrRegion", "country or region"),
            ("postalCode", "postcode"),
        )
    },
}


#: The anchor's extended-property id.  Fixed for ever: a contact written with another id would
#: no longer be found (§2.5: "once a format is chosen, always use that same form").
ANCHOR_PROPERTY_ID = "String {c3650e65-7a1d-4c8e-9b36-5c3e17a2d365} Name CentralId"

#: `$expand` that makes Graph return the anchor with each contact.
ANCHOR_EXPAND = f"singleValueExtendedProperties($filter=id eq '{ANCHOR_PROPERTY_ID}')"


def anchor_property(key: str) -> dict[str, Any]:
    """The body member that stores `key` as the contact's anchor (POST or PATCH)."""
    return {"singleValueExtendedProperties": [{"id": ANCHOR_PROPERTY_ID, "value": key}]}


def field_label(field: str) -> str:
    """A changed field as a person reads it ("Home postcode" for `homeAddress.postalCode`)."""
    return FIELD_LABELS.get(field, field)


#: What we ask Graph for when listing the folder (`$select`): just what we compare, plus the
#: display name and change key shown to people.
GRAPH_SELECT: tuple[str, ...] = (
    "id",
    "displayName",
    *SCALAR_FIELDS,
    "emailAddresses",
    "businessPhones",
    *ADDRESS_PROPERTIES,
    "changeKey",
)


class DesiredContact(NamedTuple):
    """The synced properties a Central record asks for, trimmed; "" means blank."""

    display_name: str
    scalars: Mapping[str, str]
    email: str
    telephone: str
    addresses: Mapping[str, PostalAddress]


def postal_address(address: CentralAddress) -> PostalAddress:
    """Central's address as Graph's physicalAddress (street lines joined by ", ")."""
    if address is NO_ADDRESS:
        return NO_POSTAL_ADDRESS
    # Run for every record: Central's values are text (never None), so `strip` is `text` here.
    line1, line2, line3 = address.line1, address.line2, address.line3
    return PostalAddress(
        # Mostly one line: joining the non-blank lines of one is trimming it.
        line1.strip() if not line2 and not line3 else join_street((line1, line2, line3)),
        address.town.strip(),
        address.county.strip(),
        address.country.strip(),
        address.postcode.strip(),
    )


def desired_contact(record: CentralContact, name: str | None = None) -> DesiredContact:
    """What the folder contact of `record` should hold, every value trimmed (`name`: its
    display name, when the caller has made it already)."""
    # Run for every matched record: the attributes are read together, not one getattr each.
    return DesiredContact(
        display_name(record.first_name, record.last_name) if name is None else name,
        {
            prop: value.strip()
            for prop, value in zip(SCALAR_FIELDS, _scalar_values(record), strict=True)
        },
        record.email.strip(),
        record.telephone.strip(),
        {
            prop: postal_address(address)
            for prop, address in zip(ADDRESS_PROPERTIES, _address_values(record), strict=True)
        },
    )


_scalar_values = attrgetter(*SCALAR_FIELDS.values())
_address_values = attrgetter(*ADDRESS_PROPERTIES.values())


def new_contact_changes(record: CentralContact) -> tuple[FieldChange, ...]:
    """The non-blank properties a new contact for `record` gets, shown as changes from nothing.

    The same properties as `create_body(desired_contact(record))`, read straight off the record:
    most of a first plan is new contacts, so no `DesiredContact` is made for them.
    """
    return tuple([FieldChange(field, None, value) for field, value in new_contact_values(record)])


def new_contact_values(record: CentralContact) -> list[tuple[str, str]]:
    """`new_contact_changes` as (field, value) pairs: what `plan --json` writes of a new
    contact, a million times on a large Central, without making a `FieldChange` for each."""
    values = [
        (prop, value)
        for prop, raw in zip(SCALAR_FIELDS, _scalar_values(record), strict=True)
        if (value := raw.strip())
    ]
    values.append(("emailAddresses[0]", record.email.strip()))
    if telephone := record.telephone.strip():
        values.append(("businessPhones[0]", telephone))
    for prop, address in zip(ADDRESS_PROPERTIES, _address_values(record), strict=True):
        if address is not NO_ADDRESS:
            # `PostalAddress` holds its parts in the order of `ADDRESS_FIELDS`.
            values += [
                (name, value)
                for name, value in zip(
                    ADDRESS_PART_NAMES[prop], postal_address(address), strict=True
                )
                if value
            ]
    return values


class NewContactChanges(Sequence[FieldChange]):
    """A new contact's changes (`new_contact_changes`, less the `ignored` fields), made when read.

    Most of a first plan is new contacts, ten `FieldChange`s each: a million-record plan would
    hold ten million of them (about 0.9 KB a record) for pages and lines that read a few, or
    read each once.  The view keeps the record instead, which the plan's entry names anyway,
    and equals the tuple it stands for; a property test holds the two the same.
    """

    __slots__ = ("_ignored", "_record")

    def __init__(self, record: CentralContact, ignored: frozenset[str] = frozenset()) -> None:
        self._record = record
        self._ignored = ignored

    def _changes(self) -> tuple[FieldChange, ...]:
        return tuple([FieldChange(field, None, value) for field, value in self.values()])

    def values(self) -> list[tuple[str, str]]:
        """The changes as (field, value) pairs: each is a change from nothing to the value."""
        values = new_contact_values(self._record)
        if not self._ignored:
            return values
        return [pair for pair in values if pair[0] not in self._ignored]

    @overload
    def __getitem__(self, index: int) -> FieldChange: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[FieldChange, ...]: ...

    def __getitem__(self, index: int | slice) -> FieldChange | tuple[FieldChange, ...]:
        return self._changes()[index]

    def __iter__(self) -> Iterator[FieldChange]:
        return iter(self._changes())

    def __len__(self) -> int:
        return len(self._changes())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NewContactChanges):
            return self._changes() == other._changes()
        if isinstance(other, tuple | list):
            return self._changes() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._changes())

    def __repr__(self) -> str:
        return repr(self._changes())


class NewContactBody(Mapping[str, Any]):
    """The POST body of a new contact (what `create_body` makes), read off its plan entry.

    A plan of a million new records would otherwise hold a million nested dicts (about 1 KB
    each) that only the records actually written ever use, while the display name and the
    changes the plan keeps anyway (`new_contact_changes`) say everything the body holds.  The
    body is made again each time it is read; a property test holds it equal to `create_body`.
    """

    __slots__ = ("_changes", "_name")

    def __init__(self, display_name: str, changes: Sequence[FieldChange]) -> None:
        self._name = display_name
        self._changes = changes

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"displayName": self._name}
        for change in self._changes:
            prop, dot, part = change.field.partition(".")
            if dot:  # "homeAddress.city": the whole address goes, blank parts as null (§1.3)
                address = body.get(prop)
                if address is None:
                    address = body[prop] = dict.fromkeys(ADDRESS_FIELDS)
                address[part] = change.after
            elif prop == "emailAddresses[0]":
                body["emailAddresses"] = [{"address": change.after, "name": self._name}]
            elif prop == "businessPhones[0]":
                body["businessPhones"] = [change.after]
            else:
                body[prop] = change.after
        return body

    def __getitem__(self, key: str) -> Any:
        return self._body()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._body())

    def __len__(self) -> int:
        return len(self._body())

    def __repr__(self) -> str:
        return f"NewContactBody({self._body()!r})"


def address_json(address: PostalAddress) -> dict[str, str | None]:
    """All five parts, blanks as `null`: a partial object's merge rules are undocumented (§1.3)."""
    return {prop: (getattr(address, attr) or None) for prop, attr in ADDRESS_FIELDS.items()}


def email_list(
    desired: DesiredContact, current: FolderContact | None, *, owned: bool = False
) -> list[EmailAddress]:
    """The Central email first, then the contact's other addresses, within Graph's limit of 3.

    `owned`: the contact carries this record's anchor, so its first address is the one
    central365 wrote; a changed Central email replaces it instead of pushing it down the list.
    """
    first = EmailAddress(address=desired.email, name=desired.display_name)
    if current is None:
        return [first]
    key = email_key(desired.email)
    others = current.email_addresses[1:] if owned else current.email_addresses
    kept = [a for a in others if email_key(a.address) != key]
    if current.email_addresses and email_key(current.email_addresses[0].address) == key:
        # Same first address in another case: keep Outlook's spelling and name untouched.
        first = current.email_addresses[0]
    return [first, *kept][:MAX_EMAIL_ADDRESSES]


def phone_list(desired: DesiredContact, current: FolderContact | None) -> list[str]:
    """The Central telephone replaces the first business phone; a second one is kept.

    A blank Central telephone clears the list: Graph's list has no empty first slot, and moving
    the second number up would make it look like the Central number on the next plan.
    """
    if not desired.telephone:
        return []
    rest = list(current.business_phones[1:]) if current is not None else []
    return [desired.telephone, *rest][:MAX_BUSINESS_PHONES]


def create_body(desired: DesiredContact) -> dict[str, Any]:
    """The POST body of a new contact: every non-blank synced property plus `displayName`."""
    body: dict[str, Any] = {"displayName": desired.display_name}
    body.update({prop: value for prop, value in desired.scalars.items() if value})
    body["emailAddresses"] = [
        {"address": a.address, "name": a.name} for a in email_list(desired, None)
    ]
    if desired.telephone:
        body["businessPhones"] = phone_list(desired, None)
    for prop, address in desired.addresses.items():
        if address != PostalAddress():
            body[prop] = address_json(address)
    return body


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _anchor(data: Mapping[str, Any]) -> str:
    """The anchor among the contact's expanded extended properties ("" when absent)."""
    props = data.get("singleValueExtendedProperties")
    for prop in props if isinstance(props, list) else []:
        # Graph compares property ids without regard to case (§2.5).
        if isinstance(prop, Mapping) and _string(prop.get("id")).casefold() == _ANCHOR_ID_KEY:
            return _string(prop.get("value"))
    return ""


_ANCHOR_ID_KEY = ANCHOR_PROPERTY_ID.casefold()


def folder_contact_from_graph(data: Mapping[str, Any]) -> FolderContact:
    """A Graph contact JSON object as a `FolderContact`; null, absent and {} all read as blank."""
    # Run for every contact of the folder at every plan: one `get` each, no call per value
    # where a plain test does.
    get = data.get
    emails = get("emailAddresses")
    phones = get("businessPhones")
    return FolderContact(
        _string(get("id")),
        _string(get("displayName")),
        _string(get("title")),
        _string(get("givenName")),
        _string(get("surname")),
        _string(get("mobilePhone")),
        _string(get("businessHomePage")),
        tuple(
            [
                EmailAddress(address, _string(e.get("name")))
                for e in emails
                if isinstance(e, Mapping) and (address := _string(e.get("address")))
            ]
        )
        if isinstance(emails, list)
        else (),
        tuple([p for p in phones if isinstance(p, str) and p]) if isinstance(phones, list) else (),
        _postal_address(get("homeAddress")),
        _postal_address(get("businessAddress")),
        _string(get("changeKey")),
        _anchor(data),
    )


def _postal_address(raw: object) -> PostalAddress:
    """A Graph physicalAddress (null, absent and {} read as the blank one, shared)."""
    if not isinstance(raw, Mapping) or not raw:
        return NO_POSTAL_ADDRESS
    get = raw.get
    return PostalAddress(
        _string(get("street")),
        _string(get("city")),
        _string(get("state")),
        _string(get("countryOrRegion")),
        _string(get("postalCode")),
    )


def synced_values(contact: FolderContact) -> dict[str, str]:
    """Every synced property of a contact, by the field names of `FieldChange` ("" = blank).

    What the journal keeps as the baseline: the values central365 last wrote.
    """
    values = {prop: text(current_scalar(contact, prop)) for prop in SCALAR_FIELDS}
    values["emailAddresses[0]"] = (
        text(contact.email_addresses[0].address) if contact.email_addresses else ""
    )
    values["businessPhones[0]"] = (
        text(contact.business_phones[0]) if contact.business_phones else ""
    )
    for prop in ADDRESS_PROPERTIES:
        address = current_address(contact, prop)
        for part, attr in ADDRESS_FIELDS.items():
            values[f"{prop}.{part}"] = text(getattr(address, attr))
    return values


#: The scalar synced properties: Graph property → `FolderContact` attribute.
FOLDER_SCALARS: Mapping[str, str] = {
    "title": "title",
    "givenName": "given_name",
    "surname": "surname",
    "mobilePhone": "mobile_phone",
    "businessHomePage": "business_home_page",
}


def desired_values(desired: DesiredContact) -> dict[str, str]:
    """What a record asks of every synced property, by the field names of `FieldChange`
    ("" = blank): the Central side of the three-way compare (`policy`)."""
    values = dict(desired.scalars)
    values["emailAddresses[0]"] = desired.email
    values["businessPhones[0]"] = desired.telephone
    for prop in ADDRESS_PROPERTIES:
        address = desired.addresses[prop]
        for part, attr in ADDRESS_FIELDS.items():
            values[f"{prop}.{part}"] = getattr(address, attr)
    return values


def desired_from_values(values: Mapping[str, str]) -> DesiredContact:
    """The contact that holds these synced values (by the field names of `FieldChange`, ""
    or absent = blank): the inverse of `desired_values`, used to put back a before-image."""
    given, surname = values.get("givenName", ""), values.get("surname", "")
    return DesiredContact(
        display_name(given, surname),
        {prop: values.get(prop, "") for prop in SCALAR_FIELDS},
        values.get("emailAddresses[0]", ""),
        values.get("businessPhones[0]", ""),
        {
            prop: PostalAddress(*(values.get(f"{prop}.{part}", "") for part in ADDRESS_FIELDS))
            for prop in ADDRESS_PROPERTIES
        },
    )


def current_scalar(contact: FolderContact, prop: str) -> str:
    """The value of a scalar synced property on a folder contact."""
    value: str = getattr(contact, FOLDER_SCALARS[prop])
    return value


def current_address(contact: FolderContact, prop: str) -> PostalAddress:
    return contact.home_address if prop == "homeAddress" else contact.business_address
