"""The planner: Central records + folder contacts → a `Plan` (pure: no I/O, clock or logging).

For each active Central record it decides `new`, `update`, `unchanged` or `non_actionable`,
with every reason, the field-by-field change and the Graph body to send.  Execution is
somewhere else (`execute.py`); the CLI and the web page render the same `Plan`.

Matching is by email only: a record matches a folder contact when its email (trimmed, any case)
equals any address of the contact's `emailAddresses`.  An email shared by several clean Central
records, or by several folder contacts, makes the record non-actionable (`duplicate_email`), and
so does a folder contact that several Central records match through different addresses: either
would otherwise be rewritten back and forth on every run.

The Central id is the record's key (selections, outcomes and History name records by it): a
record without one is non-actionable (`missing_id`), and every active record sharing an id with
another is too (`duplicate_id`), since a selection or an outcome could not tell them apart.  A
record with a duplicate id claims neither its email nor a folder contact.

A column the source did not have is "not provided" (`provided.py`): the fields it feeds are
neither compared nor cleared, and the plan lists it in `missing_columns`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

from central365.core.mapping import (
    ADDRESS_FIELDS,
    ADDRESS_PROPERTIES,
    DesiredContact,
    address_json,
    create_body,
    current_address,
    current_scalar,
    desired_contact,
    email_list,
    phone_list,
)
from central365.core.model import (
    CentralContact,
    FieldChange,
    FolderContact,
    Plan,
    PlanItem,
    PostalAddress,
    Reason,
    RowProblem,
    State,
)
from central365.core.normalize import email_key, text
from central365.core.provided import missing_columns, synced_fields
from central365.core.validate import is_active, record_reasons


def build_plan(
    central: Iterable[CentralContact | RowProblem],
    folder: Iterable[FolderContact],
    *,
    provided_columns: Collection[str] | None = None,
) -> Plan:
    """Decide what to do with every active Central record against the folder's contacts.

    `provided_columns` are the canonical columns the source had (None: every one).
    """
    synced = synced_fields(provided_columns)
    folder = folder if isinstance(folder, Sequence) else list(folder)
    records: list[CentralContact] = []
    problems: list[RowProblem] = []
    excluded = 0
    for entry in central:
        if isinstance(entry, RowProblem):
            problems.append(entry)
        elif is_active(entry):
            records.append(entry)
        else:
            excluded += 1

    id_counts = Counter(text(record.key) for record in records)
    own_reasons = [
        [*record_reasons(record), Reason.DUPLICATE_ID]
        if text(record.key) and id_counts[text(record.key)] > 1
        else record_reasons(record)
        for record in records
    ]
    clean_emails = Counter(
        email_key(record.email)
        for record, reasons in zip(records, own_reasons, strict=True)
        if not reasons
    )
    by_email = _index_by_email(folder)
    matches = [
        by_email.get(email_key(record.email), []) if Reason.INVALID_EMAIL not in reasons else []
        for record, reasons in zip(records, own_reasons, strict=True)
    ]
    claimed = Counter(
        found[0].id
        for found, reasons in zip(matches, own_reasons, strict=True)
        if len(found) == 1 and not reasons
    )

    items: list[PlanItem] = []
    for record, reasons, found in zip(records, own_reasons, matches, strict=True):
        all_reasons = list(reasons)
        shared_in_central = not reasons and clean_emails[email_key(record.email)] > 1
        shared_in_folder = len(found) > 1
        contact_claimed_twice = not reasons and len(found) == 1 and claimed[found[0].id] > 1
        if shared_in_central or shared_in_folder or contact_claimed_twice:
            # Before `duplicate_id` (if any), so reasons keep the order of `Reason`.
            position = len(all_reasons) - (Reason.DUPLICATE_ID in all_reasons)
            all_reasons.insert(position, Reason.DUPLICATE_EMAIL)
        items.append(_decide(record, all_reasons, found, synced))
    return Plan(
        items=tuple(items),
        excluded=excluded,
        problems=tuple(problems),
        missing_columns=missing_columns(provided_columns),
        folder_size=len(folder),
    )


def _index_by_email(folder: Iterable[FolderContact]) -> dict[str, list[FolderContact]]:
    """Folder contacts by each of their addresses (a contact listing one address twice counts once)."""
    index: dict[str, list[FolderContact]] = defaultdict(list)
    for contact in folder:
        for key in {email_key(a.address) for a in contact.email_addresses}:
            if key:
                index[key].append(contact)
    return index


def _decide(
    record: CentralContact,
    reasons: list[Reason],
    found: Sequence[FolderContact],
    synced: Collection[str],
) -> PlanItem:
    desired = desired_contact(record)
    base: dict[str, Any] = {
        "key": record.key,
        "name": desired.display_name,
        "email": desired.email,
        "line": record.line,
        "office365_id": found[0].id if len(found) == 1 else None,
    }
    if reasons:
        return PlanItem(state=State.NON_ACTIONABLE, reasons=tuple(reasons), **base)
    if not found:
        return PlanItem(
            state=State.NEW, changes=new_contact_changes(desired), body=create_body(desired), **base
        )
    contact = found[0]
    changes, body = diff(desired, contact, synced)
    if not changes:
        return PlanItem(state=State.UNCHANGED, **base)
    return PlanItem(state=State.UPDATE, changes=tuple(changes), body=body, **base)


def new_contact_changes(desired: DesiredContact) -> tuple[FieldChange, ...]:
    """The non-blank properties a new contact will get, shown as changes from nothing."""
    changes = [FieldChange(prop, None, value) for prop, value in desired.scalars.items() if value]
    changes.append(FieldChange("emailAddresses[0]", None, desired.email))
    if desired.telephone:
        changes.append(FieldChange("businessPhones[0]", None, desired.telephone))
    for prop, address in desired.addresses.items():
        for part, attr in ADDRESS_FIELDS.items():
            value = getattr(address, attr)
            if value:
                changes.append(FieldChange(f"{prop}.{part}", None, value))
    return tuple(changes)


def diff(
    desired: DesiredContact, contact: FolderContact, synced: Collection[str] | None = None
) -> tuple[list[FieldChange], dict[str, Any]]:
    """The synced properties that differ, and the PATCH body that makes them equal.

    The body carries only changed properties (whole collections and whole address objects when
    they change) plus `displayName`, which Exchange may regenerate when it is left out (§1.1).
    Properties not in `synced` (their columns were not provided; None: all are) are left alone:
    an address object sent for its other parts keeps their current values.
    """
    synced = synced_fields(None) if synced is None else synced
    changes: list[FieldChange] = []
    body: dict[str, Any] = {}

    for prop, wanted in desired.scalars.items():
        if prop not in synced:
            continue
        current = text(current_scalar(contact, prop))
        if current != wanted:
            changes.append(FieldChange(prop, current or None, wanted or None))
            body[prop] = wanted or None

    first_email = contact.email_addresses[0].address if contact.email_addresses else ""
    if email_key(first_email) != email_key(desired.email):
        changes.append(FieldChange("emailAddresses[0]", text(first_email) or None, desired.email))
        body["emailAddresses"] = [
            {"address": a.address, "name": a.name} for a in email_list(desired, contact)
        ]

    first_phone = text(contact.business_phones[0]) if contact.business_phones else ""
    if "businessPhones[0]" in synced and first_phone != desired.telephone:
        changes.append(
            FieldChange("businessPhones[0]", first_phone or None, desired.telephone or None)
        )
        body["businessPhones"] = phone_list(desired, contact)

    for prop in ADDRESS_PROPERTIES:
        current_addr = current_address(contact, prop)
        kept = {
            attr: getattr(current_addr, attr)
            for part, attr in ADDRESS_FIELDS.items()
            if f"{prop}.{part}" not in synced
        }
        wanted_address: PostalAddress = replace(desired.addresses[prop], **kept)
        part_changes = [
            FieldChange(
                f"{prop}.{part}",
                text(getattr(current_addr, attr)) or None,
                getattr(wanted_address, attr) or None,
            )
            for part, attr in ADDRESS_FIELDS.items()
            if attr not in kept
            and text(getattr(current_addr, attr)) != getattr(wanted_address, attr)
        ]
        if part_changes:
            changes.extend(part_changes)
            body[prop] = address_json(wanted_address)

    if changes:
        body["displayName"] = desired.display_name
    return changes, body
