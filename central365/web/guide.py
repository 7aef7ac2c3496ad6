"""The Guide's content, taken from the tables and functions the sync itself uses (pure).

The product description is a guide (filtering, matching, validation, synchronisation, the
synced fields, the street mapping, scopes, limitations); the Guide page says the same things,
but every fact that the code decides comes from the code, so the page cannot drift from it:

- the synced fields and the Central columns each comes from are found by running the mapping
  (`mapping.create_body`) on one marked column at a time, in the order of `FIELD_LABELS`;
- the reasons are `model.Reason` with `REASON_TEXT` (what the homepage shows) and a line on
  what to change in Central (`REASON_HELP`, which a test keeps complete);
- the street example, the status and email examples are computed by the functions the planner
  calls (`postal_address`, `is_active`, `email_key`, `is_valid_email`);
- scopes are `web.scopes`'s tables, and the Graph limits the constants the adapters enforce.

`field_anchor`/`reason_anchor` name the places in the page; the homepage links to them.
It must not do I/O: the page is rebuilt from these values on each request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from central365.core.guards import GuardThresholds
from central365.core.mapping import (
    FIELD_LABELS,
    MAX_BUSINESS_PHONES,
    MAX_EMAIL_ADDRESSES,
    create_body,
    desired_contact,
    postal_address,
)
from central365.core.model import (
    CANONICAL_COLUMNS,
    REASON_TEXT,
    REQUIRED_COLUMNS,
    CentralAddress,
    CentralContact,
    Reason,
)
from central365.core.normalize import IGNORED_GRAPH_PROPERTIES, email_key
from central365.core.validate import DECEASED_MARKER, is_active, is_valid_email
from central365.graph.batch import MAILBOX_CONCURRENCY, MAX_BATCH_REQUESTS
from central365.graph.throttle import DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_RETRY_AFTER
from central365.web.identity import OIDC_SCOPES
from central365.web.scopes import APPLICATION_NEEDS, DELEGATED_NEEDS, NOT_NEEDED

#: What to change in Central for each reason (the homepage's words are `REASON_TEXT`).
REASON_HELP: Mapping[Reason, str] = {
    Reason.MISSING_ID: (
        "The record has no Central id. The id is how central365 names a record when you select "
        "it and in every run's outcomes, so a record without one cannot be synchronised. Give "
        "it its id in Central (or map the export's id column on the Settings page)."
    ),
    Reason.DUPLICATE_ID: (
        "Two or more active records share this Central id, so a selection or an outcome could "
        "not tell them apart; none of them is synchronised. Usually an export joined a table "
        "twice: make the ids unique in Central or in the export."
    ),
    Reason.DECEASED: (
        f"The first or last name contains “{DECEASED_MARKER}” (any case), so the record is "
        "treated as a person who has died, even though its status is still active. Correct "
        "the name or the status in Central."
    ),
    Reason.MISSING_NAME: (
        "Office 365 files contacts by name: both the first and the last name are needed. "
        "Fill in the missing one in Central."
    ),
    Reason.MISSING_EMAIL: (
        "Records are matched to Office 365 contacts by email address, so a record without one "
        "cannot be matched. Add the email address in Central."
    ),
    Reason.INVALID_EMAIL: (
        "The email address is not written the way an address must be (for example a missing "
        "@ or a space inside it). Correct it in Central."
    ),
    Reason.DUPLICATE_EMAIL: (
        "Matching needs each email address once: the address belongs to several active "
        "Central records, to several contacts of the folder, or one contact is matched by "
        "several records. Each would be overwritten by the others on every synchronisation, "
        "so none is. Give each person their own address in Central, or remove the duplicate "
        "contact from the Office 365 folder."
    ),
    Reason.ANCHOR_CONFLICT: (
        "central365 marks every contact it writes with the Central id of its record. The "
        "contact with this email carries another record's id (or several contacts carry this "
        "record's id), so taking it over would silently move it from one record to another. "
        "Check which Central record the person belongs to, and remove the extra contact from "
        "the Office 365 folder or correct the email in Central."
    ),
    Reason.DELETED_IN_OFFICE365: (
        "central365 wrote this record's contact and someone has since deleted it in Outlook. "
        "The Settings page's “Contacts deleted in Outlook” is set to respect deletes, so the "
        "contact is not created again. To have it back, set that to recreate, or mark the "
        "record inactive in Central if it should stay gone."
    ),
}

#: Central's lines of address in the product description's example.
STREET_EXAMPLE: tuple[str, str, str] = ("Flat 1", "King's Court", "10 Long Street")
STATUS_EXAMPLES: tuple[str, ...] = ("Active", " active ", "ACTIVE", "Inactive", "Closed", "")
EMAIL_EXAMPLES: tuple[str, ...] = (" John@Outlook.com ", "john@outlook", "john smith@outlook.com")


def field_anchor(field: str) -> str:
    """`field-homeAddress-street` for `homeAddress.street`: an id that needs no escaping."""
    return "field-" + re.sub(r"[^A-Za-z0-9]+", "-", field).strip("-")


def reason_anchor(reason: Reason | str) -> str:
    return f"reason-{Reason(reason).value}"


@dataclass(frozen=True, slots=True)
class GuideField:
    """One synced Office 365 field and the Central columns it is made from."""

    field: str  # as in a plan's field changes: "givenName", "homeAddress.street"
    label: str
    columns: tuple[str, ...]

    @property
    def anchor(self) -> str:
        return field_anchor(self.field)


@dataclass(frozen=True, slots=True)
class GuideReason:
    reason: Reason
    text: str
    help: str

    @property
    def anchor(self) -> str:
        return reason_anchor(self.reason)


def _fields_holding(body: Mapping[str, Any], marker: str) -> set[str]:
    """The synced fields (named as in FIELD_LABELS) of a Graph body whose value holds `marker`."""
    found: set[str] = set()
    for prop, value in body.items():
        if isinstance(value, str) and marker in value:
            found.add(prop)
        elif prop == "emailAddresses" and value and marker in value[0]["address"]:
            found.add("emailAddresses[0]")
        elif prop == "businessPhones" and value and marker in value[0]:
            found.add("businessPhones[0]")
        elif isinstance(value, Mapping):
            found.update(f"{prop}.{part}" for part, v in value.items() if v and marker in v)
    return found & set(FIELD_LABELS)


def synced_fields() -> tuple[GuideField, ...]:
    """Every synced field, with the Central columns the mapping fills it from."""
    columns: dict[str, list[str]] = {field: [] for field in FIELD_LABELS}
    for column in CANONICAL_COLUMNS:
        if column in ("id", "status"):
            continue
        marker = f"<{column}>"
        record = CentralContact.from_row({"id": "1", "status": "active", column: marker})
        for field in _fields_holding(create_body(desired_contact(record)), marker):
            columns[field].append(column)
    return tuple(GuideField(f, FIELD_LABELS[f], tuple(columns[f])) for f in FIELD_LABELS)


def reasons() -> tuple[GuideReason, ...]:
    return tuple(GuideReason(r, REASON_TEXT[r], REASON_HELP[r]) for r in Reason)


@dataclass(frozen=True, slots=True)
class Guide:
    """Everything the Guide page shows that the code decides."""

    fields: tuple[GuideField, ...]
    reasons: tuple[GuideReason, ...]
    required_columns: tuple[str, ...]
    street_lines: tuple[str, ...]
    street: str
    street_with_a_blank_line: str
    status_examples: tuple[tuple[str, bool], ...]
    email_examples: tuple[tuple[str, str, bool], ...]
    not_synced: tuple[str, ...]
    display_name_rule: str
    deceased_marker: str
    delegated_scopes: tuple[tuple[str, str], ...]
    application_scopes: tuple[tuple[str, str], ...]
    sign_in_scopes: tuple[str, ...]
    not_needed_scopes: tuple[str, ...]
    max_email_addresses: int
    max_business_phones: int
    max_batch_requests: int
    mailbox_concurrency: int
    max_attempts: int
    max_retry_after_min: int
    guard_defaults: GuardThresholds


def build_guide() -> Guide:
    line1, line2, line3 = STREET_EXAMPLE
    return Guide(
        fields=synced_fields(),
        reasons=reasons(),
        required_columns=REQUIRED_COLUMNS,
        street_lines=STREET_EXAMPLE,
        street=postal_address(CentralAddress(line1=line1, line2=line2, line3=line3)).street,
        street_with_a_blank_line=postal_address(CentralAddress(line1=line1, line3=line3)).street,
        status_examples=tuple(
            (s, is_active(CentralContact(key="1", status=s))) for s in STATUS_EXAMPLES
        ),
        email_examples=tuple((e, email_key(e), is_valid_email(e.strip())) for e in EMAIL_EXAMPLES),
        not_synced=tuple(
            prop for prop, why in IGNORED_GRAPH_PROPERTIES.items() if why.startswith("not synced")
        ),
        display_name_rule=IGNORED_GRAPH_PROPERTIES["displayName"],
        deceased_marker=DECEASED_MARKER,
        delegated_scopes=DELEGATED_NEEDS,
        application_scopes=APPLICATION_NEEDS,
        sign_in_scopes=OIDC_SCOPES,
        not_needed_scopes=NOT_NEEDED,
        max_email_addresses=MAX_EMAIL_ADDRESSES,
        max_business_phones=MAX_BUSINESS_PHONES,
        max_batch_requests=MAX_BATCH_REQUESTS,
        mailbox_concurrency=MAILBOX_CONCURRENCY,
        max_attempts=DEFAULT_MAX_ATTEMPTS,
        max_retry_after_min=int(DEFAULT_MAX_RETRY_AFTER // 60),
        guard_defaults=GuardThresholds(),
    )
