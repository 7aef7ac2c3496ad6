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
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from central365.core.mapping import (
    ADDRESS_FIELDS,
    ADDRESS_PROPERTIES,
    DesiredContact,
    NewContactBody,
    address_json,
    current_address,
    current_scalar,
    desired_contact,
    email_list,
    new_contact_changes,
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
from central365.core.normalize import display_name, email_key, text
from central365.core.validate import is_active, record_reasons


def build_plan(
    central: Iterable[CentralContact | RowProblem], folder: Iterable[FolderContact]
) -> Plan:
    """Decide what to do with every active Central record against the folder's contacts."""
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
        items.append(_decide(record, all_reasons, found))
    return Plan(items=tuple(items), excluded=excluded, problems=tuple(problems))


def _index_by_email(folder: Iterable[FolderContact]) -> dict[str, list[FolderContact]]:
    """Folder contacts by each of their addresses (a contact listing one address twice counts once)."""
    index: dict[str, list[FolderContact]] = defaultdict(list)
    for contact in folder:
        for key in {email_key(a.address) for a in contact.email_addresses}:
            if key:
                index[key].append(contact)
    return index


def _decide(
    record: CentralContact, reasons: list[Reason], found: Sequence[FolderContact]
) -> PlanItem:
    key, line = record.key, record.line
    name, email = display_name(record.first_name, record.last_name), text(record.email)
    office365_id = found[0].id if len(found) == 1 else None
    if reasons:
        return PlanItem(
            key=key,
            state=State.NON_ACTIONABLE,
            name=name,
            email=email,
            office365_id=office365_id,
            reasons=tuple(reasons),
            line=line,
        )
    if not found:
        changes = new_contact_changes(record)
        return PlanItem(
            key=key,
            state=State.NEW,
            name=name,
            email=email,
            changes=changes,
            body=NewContactBody(name, changes),
            line=line,
        )
    desired = desired_contact(record)
    changes_found, body = diff(desired, found[0])
    if not changes_found:
        return PlanItem(
            key=key,
            state=State.UNCHANGED,
            name=name,
            email=email,
            office365_id=office365_id,
            line=line,
        )
    return PlanItem(
        key=key,
        state=State.UPDATE,
        name=name,
        email=email,
        office365_id=office365_id,
        changes=tuple(changes_found),
        body=body,
        line=line,
    )


def diff(
    desired: DesiredContact, contact: FolderContact
) -> tuple[list[FieldChange], dict[str, Any]]:
    """The synced properties that differ, and the PATCH body that makes them equal.

    The body carries only changed properties (whole collections and whole address objects when
    they change) plus `displayName`, which Exchange may regenerate when it is left out (§1.1).
    """
    changes: list[FieldChange] = []
    body: dict[str, Any] = {}

    for prop, wanted in desired.scalars.items():
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
    if first_phone != desired.telephone:
        changes.append(
            FieldChange("businessPhones[0]", first_phone or None, desired.telephone or None)
        )
        body["businessPhones"] = phone_list(desired, contact)

    for prop in ADDRESS_PROPERTIES:
        wanted_address: PostalAddress = desired.addresses[prop]
        current_addr = current_address(contact, prop)
        part_changes = [
            FieldChange(
                f"{prop}.{part}",
                text(getattr(current_addr, attr)) or None,
                getattr(wanted_address, attr) or None,
            )
            for part, attr in ADDRESS_FIELDS.items()
            if text(getattr(current_addr, attr)) != getattr(wanted_address, attr)
        ]
        if part_changes:
            changes.extend(part_changes)
            body[prop] = address_json(wanted_address)

    if changes:
        body["displayName"] = desired.display_name
    return changes, body
