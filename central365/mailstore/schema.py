"""The v1.0 `contact` resource: its properties, their JSON types, and what a write may carry.

Follows reference §1 (`contact.md@13a4446`, examples in `graph-contact-examples.json`):

- every full GET carries every v1.0 property, in the order of the `contact-get.md` example;
  unset strings are `null`, unset collections `[]`, unset addresses `{}`;
- `emailAddresses` holds at most 3 entries and `businessPhones` at most 2 (§1.2, mgdc#560);
- a PATCH changes only the properties it carries, collections are replaced whole and an address
  object replaces the stored one (§1.3: the sandbox picks "replace" for the unverified case).

Pure functions only: the store calls them, the HTTP layer never does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from central365.mailstore.problem import GraphProblem, bad_request

#: Server-managed properties; a body that sets one is refused.
READ_ONLY: tuple[str, ...] = (
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "parentFolderId",
)

STRING_PROPERTIES: frozenset[str] = frozenset(
    {
        "birthday",
        "fileAs",
        "displayName",
        "givenName",
        "initials",
        "middleName",
        "nickName",
        "surname",
        "title",
        "yomiGivenName",
        "yomiSurname",
        "yomiCompanyName",
        "generation",
        "jobTitle",
        "companyName",
        "department",
        "officeLocation",
        "profession",
        "businessHomePage",
        "assistantName",
        "manager",
        "mobilePhone",
        "spouseName",
        "personalNotes",
    }
)
STRING_COLLECTIONS: frozenset[str] = frozenset(
    {"categories", "imAddresses", "homePhones", "businessPhones", "children"}
)
ADDRESS_PROPERTIES: frozenset[str] = frozenset({"homeAddress", "businessAddress", "otherAddress"})
ADDRESS_PARTS: tuple[str, ...] = ("street", "city", "state", "countryOrRegion", "postalCode")

#: Relationships a body may carry (written through POST/PATCH per §2.5) but that a contact
#: response never includes.  The sandbox stores them and does not interpret them further.
WRITE_ONLY_RELATIONSHIPS: frozenset[str] = frozenset(
    {"singleValueExtendedProperties", "multiValueExtendedProperties", "extensions"}
)

#: Collections whose entry count Exchange caps (§1.2): property → (Exchange's name, max).
MAX_ENTRIES: Mapping[str, tuple[str, int]] = {
    "emailAddresses": ("EmailAddresses", 3),
    "businessPhones": ("BusinessPhones", 2),
}

#: Every property of a full GET, in the order of the `contact-get.md` example.
RESPONSE_ORDER: tuple[str, ...] = (
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "parentFolderId",
    "birthday",
    "fileAs",
    "displayName",
    "givenName",
    "initials",
    "middleName",
    "nickName",
    "surname",
    "title",
    "yomiGivenName",
    "yomiSurname",
    "yomiCompanyName",
    "generation",
    "imAddresses",
    "jobTitle",
    "companyName",
    "department",
    "officeLocation",
    "profession",
    "businessHomePage",
    "assistantName",
    "manager",
    "homePhones",
    "mobilePhone",
    "businessPhones",
    "spouseName",
    "personalNotes",
    "children",
    "emailAddresses",
    "homeAddress",
    "businessAddress",
    "otherAddress",
)

#: Properties that can be named in `$select` (all of the response, nothing else).
SELECTABLE: frozenset[str] = frozenset(RESPONSE_ORDER)

#: Values of a contact that was created with none of its properties set.  `fileAs` and
#: `personalNotes` read "" rather than null, as in the `contact-get.md` example.
_EMPTY_STRING_DEFAULTS: frozenset[str] = frozenset({"fileAs", "personalNotes"})


def blank_properties() -> dict[str, Any]:
    """The writable properties of a fresh contact, before its create body is applied."""
    props: dict[str, Any] = {}
    for name in STRING_PROPERTIES:
        props[name] = "" if name in _EMPTY_STRING_DEFAULTS else None
    for name in STRING_COLLECTIONS:
        props[name] = []
    props["emailAddresses"] = []
    for name in ADDRESS_PROPERTIES:
        props[name] = {}
    return props


def parse_json_body(raw: bytes) -> Any:
    """Decode a request body; malformed JSON is Graph's 400 "Unable to read JSON" answer."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set "
            "and payload is of valid JSON format."
        ) from None


def _type_error(value: Any, expected: str) -> GraphProblem:
    literal = json.dumps(value)[:80]
    return bad_request(
        f"Cannot convert the literal '{literal}' to the expected type '{expected}'.",
        code="RequestBodyRead",
    )


def _unknown_property(name: str, type_name: str) -> GraphProblem:
    return bad_request(
        f"The property '{name}' does not exist on type 'microsoft.graph.{type_name}'. Make sure "
        "to only use property names that are defined by the type.",
        code="RequestBodyRead",
    )


def _string(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _type_error(value, "Edm.String")


def _birthday(value: Any) -> str | None:
    """`birthday` is a DateTimeOffset that Graph also accepts and returns as a bare date."""
    text = _string(value)
    if text is None:
        return None
    try:
        if len(text) == 10:
            date.fromisoformat(text)
        else:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _type_error(value, "Edm.DateTimeOffset") from None
    return text


def _string_collection(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _type_error(value, "Collection(Edm.String)")
    return list(value)


def _email(value: Any) -> dict[str, str | None]:
    if not isinstance(value, Mapping):
        raise _type_error(value, "microsoft.graph.emailAddress")
    for key in value:
        if key not in ("name", "address") and not str(key).startswith("@odata."):
            raise _unknown_property(str(key), "emailAddress")
    address = _string(value.get("address"))
    name = _string(value.get("name"))
    # Exchange fills a missing name with the address (the `contact-get.md` example shows
    # name == address for a contact created without names on its email).
    return {"name": name if name is not None else address, "address": address}


def _address(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _type_error(value, "microsoft.graph.physicalAddress")
    result: dict[str, str] = {}
    for key, part in value.items():
        if str(key).startswith("@odata."):
            continue
        if key not in ADDRESS_PARTS:
            raise _unknown_property(str(key), "physicalAddress")
        text = _string(part)
        if text is not None:  # the update example omits parts that were never sent
            result[key] = text
    return {k: result[k] for k in ADDRESS_PARTS if k in result}


def _check_count(name: str, entries: list[Any]) -> None:
    if name in MAX_ENTRIES:
        exchange_name, limit = MAX_ENTRIES[name]
        if len(entries) > limit:
            raise bad_request(
                f"The multi value property {exchange_name} has {len(entries)} entries, "
                f"that exceeds the max allowed value of {limit}",
                code="ErrorInvalidArgument",
            )


def validate_contact_body(body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a create or PATCH body; return (properties, write-only relationships).

    Raises `GraphProblem` (400) for a non-object body, an unknown or read-only property, a
    value of the wrong JSON type, and an over-full `emailAddresses` / `businessPhones`.
    OData instance annotations (`@odata.type`, ...) are accepted and ignored.
    """
    if not isinstance(body, Mapping):
        raise _type_error(body, "microsoft.graph.contact")
    props: dict[str, Any] = {}
    relationships: dict[str, Any] = {}
    for name, value in body.items():
        if name.startswith("@odata."):
            continue
        if name in READ_ONLY:
            raise bad_request(
                f"The property '{name}' is read-only and cannot be set.",
                code="ErrorInvalidProperty",
            )
        if name == "birthday":
            props[name] = _birthday(value)
        elif name in STRING_PROPERTIES:
            props[name] = _string(value)
        elif name in STRING_COLLECTIONS:
            props[name] = _string_collection(name, value)
            _check_count(name, props[name])
        elif name == "emailAddresses":
            if not isinstance(value, list):
                raise _type_error(value, "Collection(microsoft.graph.emailAddress)")
            _check_count(name, value)
            props[name] = [_email(v) for v in value]
        elif name in ADDRESS_PROPERTIES:
            props[name] = _address(value)
        elif name in WRITE_ONLY_RELATIONSHIPS:
            if not isinstance(value, list):
                raise _type_error(value, f"Collection(microsoft.graph.{name})")
            relationships[name] = value
        else:
            raise _unknown_property(name, "contact")
    return props, relationships


def generated_display_name(props: Mapping[str, Any]) -> str:
    """The name Exchange builds when no `displayName` was ever sent: "given surname"."""
    parts = (props.get("givenName"), props.get("surname"))
    return " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())


def project(full: Mapping[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    """Apply `$select` to a full contact body: `id` always stays, annotations stay too."""
    if select is None:
        return dict(full)
    keep = {"id", *select}
    return {k: v for k, v in full.items() if k.startswith("@odata.") or k in keep}
