"""Which synced fields a source provided: a missing column is "not provided", never "blank" (pure).

An export without a `mobile` column says nothing about anyone's mobile; reading it as blank would
clear the mobile of every matched contact (issue #9).  So each synced Graph property (named as in
`FieldChange.field`) is synced only when a column feeding it was provided:

- one column, one property (`mobile` → `mobilePhone`, `home_town` → `homeAddress.city`, …);
- the three street lines make one `street`: it is synced when any of them is there, and a line
  that is absent then reads as blank (an export with only `address_line1` holds whole streets).

Required columns (`REQUIRED_COLUMNS`) are always provided: a source without one cannot be read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from central365.core.model import ADDRESS_PARTS, CANONICAL_COLUMNS, REQUIRED_COLUMNS

_ADDRESS_PART_FIELDS: Mapping[str, str] = {
    "address_line1": "street",
    "address_line2": "street",
    "address_line3": "street",
    "town": "city",
    "county": "state",
    "country": "countryOrRegion",
    "postcode": "postalCode",
}

#: The canonical column → the synced Graph property it feeds (`status` and `id` feed none).
COLUMN_FIELDS: Mapping[str, str] = {
    "title": "title",
    "first_name": "givenName",
    "last_name": "surname",
    "email": "emailAddresses[0]",
    "mobile": "mobilePhone",
    "telephone": "businessPhones[0]",
    "website": "businessHomePage",
    **{
        f"{place}_{part}": f"{prop}.{_ADDRESS_PART_FIELDS[part]}"
        for place, prop in (("home", "homeAddress"), ("business", "businessAddress"))
        for part in ADDRESS_PARTS
    },
}


def missing_columns(provided: Collection[str] | None) -> tuple[str, ...]:
    """The canonical columns absent from `provided`, in canonical order (None: all provided)."""
    if provided is None:
        return ()
    return tuple(c for c in CANONICAL_COLUMNS if c not in provided and c not in REQUIRED_COLUMNS)


def synced_fields(provided: Collection[str] | None) -> frozenset[str]:
    """The Graph properties (as `FieldChange.field`) fed by at least one provided column."""
    if provided is None:
        return frozenset(COLUMN_FIELDS.values())
    return frozenset(
        prop
        for column, prop in COLUMN_FIELDS.items()
        if column in provided or column in REQUIRED_COLUMNS
    )
