"""The planner: Central records + folder contacts → a `Plan` (pure: no I/O, clock or logging).

For each active Central record it decides `new`, `update`, `unchanged` or `non_actionable`,
with every reason, the field-by-field change and the Graph body to send.  Execution is
somewhere else (`execute.py`); the CLI and the web page render the same `Plan`.

Matching is first by anchor, then by email.  A contact that carries the record's Central id in
its anchor (`mapping.ANCHOR_PROPERTY_ID`, written by central365 with every create and update) is
the record's contact, whatever its addresses: a record whose email changed in Central updates
its own contact ("Email: old → new", the old address replaced), never a new one.  Otherwise a
record matches a folder contact when its email (trimmed, any case) equals any address of the
contact's `emailAddresses`; a contact found so that carries *another* record's anchor is not
taken over silently: the record is non-actionable (`anchor_conflict`), and so is a record whose
Central id is carried by several contacts.  A contact matched by email and already equal gets
its anchor the next time central365 writes it (adding it alone would put every contact of an
existing folder on the plan as an update).  An email shared by several clean Central
records, or by several folder contacts, makes the record non-actionable (`duplicate_email`), and
so does a folder contact that several Central records match through different addresses: either
would otherwise be rewritten back and forth on every run.

The Central id is the record's key (selections, outcomes and History name records by it): a
record without one is non-actionable (`missing_id`), and every active record sharing an id with
another is too (`duplicate_id`), since a selection or an outcome could not tell them apart.  A
record with a duplicate id claims neither its email nor a folder contact.

A column the source did not have is "not provided" (`provided.py`): the fields it feeds are
neither compared nor cleared, and the plan lists it in `missing_columns`.

Given the journal's `baselines` (what central365 last wrote, by Central id) and the per-field
write `policies` (`policy.py`), a matched contact is compared three ways: the fields Outlook
edited since the last write are flagged on the item (`edited_in_office365`, their changes
carrying the baseline), and a field its policy leaves alone is neither a change nor in the
body.  A baseline counts only for the contact it was written to.  Without either, the plan is
the two-way one.

A record the journal says central365 wrote, whose contact is no longer in the folder (a person
deleted it in Outlook) and that finds no other, is planned by `deleted_contacts`: `recreate`
(the default) plans it as new, marked `deleted_in_office365` with the run that wrote it;
`respect_deletes` makes it non-actionable (`deleted_in_office365`).

Folder contacts carrying a Central anchor whose record is gone, inactive or non-actionable are
the plan's `orphans` (nothing deletes them by itself); contacts without an anchor that no
record matches are people's own, only counted (`unanchored_count`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from central365.core.journal import JournalContact
from central365.core.mapping import (
    ADDRESS_FIELDS,
    ADDRESS_PROPERTIES,
    DesiredContact,
    NewContactBody,
    address_json,
    current_address,
    current_scalar,
    desired_contact,
    desired_values,
    email_list,
    new_contact_changes,
    phone_list,
    synced_values,
)
from central365.core.model import (
    CentralContact,
    FieldChange,
    FolderContact,
    Match,
    Orphan,
    OrphanWhy,
    Plan,
    PlanItem,
    PostalAddress,
    Reason,
    RowProblem,
    State,
)
from central365.core.normalize import display_name, email_key, text
from central365.core.policy import (
    DeletedContacts,
    FieldPolicies,
    edited_fields,
    held_fields,
    ignored_fields,
)
from central365.core.provided import missing_columns, synced_fields
from central365.core.validate import is_active, record_reasons


def build_plan(
    central: Iterable[CentralContact | RowProblem],
    folder: Iterable[FolderContact],
    *,
    provided_columns: Collection[str] | None = None,
    baselines: Mapping[str, JournalContact] | None = None,
    policies: FieldPolicies | None = None,
    deleted_contacts: DeletedContacts = DeletedContacts.RECREATE,
) -> Plan:
    """Decide what to do with every active Central record against the folder's contacts.

    `provided_columns` are the canonical columns the source had (None: every one);
    `baselines` the journal's last write per Central id (None: not known); `policies` the
    per-field write policies (None or a field left out: `overwrite`); `deleted_contacts`
    what a journalled contact deleted in Outlook becomes.
    """
    ignored = ignored_fields(policies or {})
    synced = synced_fields(provided_columns) - ignored
    three_way = _ThreeWay(baselines, policies or {}, ignored)
    folder = folder if isinstance(folder, Sequence) else list(folder)
    records: list[CentralContact] = []
    problems: list[RowProblem] = []
    excluded = 0
    inactive_keys: set[str] = set()
    for entry in central:
        if isinstance(entry, RowProblem):
            problems.append(entry)
        elif is_active(entry):
            records.append(entry)
        else:
            excluded += 1
            inactive_keys.add(text(entry.key))

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
    by_anchor = _index_by_anchor(folder)
    matches = [
        _match(record, reasons, by_anchor, by_email)
        for record, reasons in zip(records, own_reasons, strict=True)
    ]
    conflicts = [
        not reasons and _anchor_conflict(record, found, how)
        for record, reasons, (found, how) in zip(records, own_reasons, matches, strict=True)
    ]
    claimed = Counter(
        found[0].id
        for (found, _), reasons, conflict in zip(matches, own_reasons, conflicts, strict=True)
        if len(found) == 1 and not reasons and not conflict
    )

    folder_ids = {contact.id for contact in folder} if baselines else set()
    items: list[PlanItem] = []
    for record, reasons, (found, how), conflict in zip(
        records, own_reasons, matches, conflicts, strict=True
    ):
        all_reasons = list(reasons)
        shared_in_central = not reasons and clean_emails[email_key(record.email)] > 1
        shared_in_folder = how is Match.EMAIL and len(found) > 1
        contact_claimed_twice = (
            not reasons and not conflict and len(found) == 1 and claimed[found[0].id] > 1
        )
        if shared_in_central or shared_in_folder or contact_claimed_twice:
            # Before `duplicate_id` (if any), so reasons keep the order of `Reason`.
            position = len(all_reasons) - (Reason.DUPLICATE_ID in all_reasons)
            all_reasons.insert(position, Reason.DUPLICATE_EMAIL)
        if conflict:
            all_reasons.append(Reason.ANCHOR_CONFLICT)
        deleted = (
            None if found or all_reasons else _deleted_in_office365(record, baselines, folder_ids)
        )
        if deleted is not None and deleted_contacts is DeletedContacts.RESPECT_DELETES:
            all_reasons.append(Reason.DELETED_IN_OFFICE365)
        item = _decide(record, all_reasons, found, how, synced, three_way)
        if deleted is not None:
            item = replace(item, deleted_in_office365=True, deleted_since_run=deleted.run_id)
        items.append(item)
    seen = {contact.id for found, _ in matches for contact in found}
    return Plan(
        items=tuple(items),
        excluded=excluded,
        problems=tuple(problems),
        missing_columns=missing_columns(provided_columns),
        folder_size=len(folder),
        orphans=_orphans(folder, items, inactive_keys),
        unanchored_count=sum(1 for c in folder if not text(c.anchor) and c.id not in seen),
    )


def _deleted_in_office365(
    record: CentralContact,
    baselines: Mapping[str, JournalContact] | None,
    folder_ids: Collection[str],
) -> JournalContact | None:
    """The journal's write of a record that found no contact, when that contact has gone from
    the folder (a person deleted it); None when the journal never wrote one."""
    if not baselines:
        return None
    written = baselines.get(text(record.key))
    if written is None or not written.office365_id:
        return None
    if written.office365_id in folder_ids:
        return None  # still there (its anchor was removed, its email changed): not deleted
    return written


def _orphans(
    folder: Sequence[FolderContact], items: Sequence[PlanItem], inactive_keys: Collection[str]
) -> tuple[Orphan, ...]:
    """The folder's anchored contacts no active, actionable record syncs, with why."""
    by_key: dict[str, PlanItem] = {}
    for each in items:
        by_key.setdefault(text(each.key), each)
    orphans: list[Orphan] = []
    for contact in folder:
        anchor = text(contact.anchor)
        if not anchor:
            continue
        item = by_key.get(anchor)
        why: OrphanWhy | None
        reason = None
        if item is None:
            why = OrphanWhy.RECORD_INACTIVE if anchor in inactive_keys else OrphanWhy.RECORD_GONE
        elif item.state is State.NON_ACTIONABLE and item.reasons:
            why, reason = OrphanWhy.NON_ACTIONABLE, item.reasons[0]
        else:
            why = None
        if why is not None:
            first = contact.email_addresses[0].address if contact.email_addresses else ""
            orphans.append(
                Orphan(
                    office365_id=contact.id,
                    key=anchor,
                    name=contact.display_name or display_name(contact.given_name, contact.surname),
                    email=text(first),
                    why=why,
                    reason=reason,
                )
            )
    return tuple(orphans)


def _match(
    record: CentralContact,
    reasons: Sequence[Reason],
    by_anchor: dict[str, list[FolderContact]],
    by_email: dict[str, list[FolderContact]],
) -> tuple[list[FolderContact], Match | None]:
    """The contacts a record finds: those carrying its anchor, else those with its email.

    A record without a usable id (missing or shared) finds nothing by anchor: an id several
    records share names no one record's contact.
    """
    key = text(record.key)
    usable_key = key and Reason.DUPLICATE_ID not in reasons
    anchored = by_anchor.get(key, []) if usable_key else []
    if anchored:
        return anchored, Match.ANCHOR
    if Reason.INVALID_EMAIL in reasons:
        return [], None
    found = by_email.get(email_key(record.email), [])
    return found, Match.EMAIL if found else None


def _anchor_conflict(
    record: CentralContact, found: Sequence[FolderContact], how: Match | None
) -> bool:
    """Several contacts carry the record's anchor, or its email found another record's contact."""
    if how is Match.ANCHOR:
        return len(found) > 1
    return (
        len(found) == 1
        and bool(text(found[0].anchor))
        and text(found[0].anchor) != text(record.key)
    )


def _index_by_anchor(folder: Iterable[FolderContact]) -> dict[str, list[FolderContact]]:
    """Folder contacts by the Central id they carry (people's own contacts carry none)."""
    index: dict[str, list[FolderContact]] = defaultdict(list)
    for contact in folder:
        anchor = text(contact.anchor)
        if anchor:
            index[anchor].append(contact)
    return index


def _index_by_email(folder: Iterable[FolderContact]) -> dict[str, list[FolderContact]]:
    """Folder contacts by each of their addresses (a contact listing one address twice counts once)."""
    index: dict[str, list[FolderContact]] = defaultdict(list)
    for contact in folder:
        for key in {email_key(a.address) for a in contact.email_addresses}:
            if key:
                index[key].append(contact)
    return index


class _ThreeWay:
    """The journal's baselines and the write policies, applied to one matched contact."""

    def __init__(
        self,
        baselines: Mapping[str, JournalContact] | None,
        policies: FieldPolicies,
        ignored: frozenset[str],
    ) -> None:
        self.baselines = baselines
        self.policies = policies
        self.ignored = ignored
        self.active = baselines is not None or bool(policies)

    def fields(
        self, key: str, desired: DesiredContact, contact: FolderContact, synced: frozenset[str]
    ) -> tuple[frozenset[str], tuple[str, ...], Mapping[str, str]]:
        """The fields to sync on this contact, those Outlook edited, and the baseline."""
        central = desired_values(desired)
        outlook = synced_values(contact)
        written = self.baselines.get(text(key)) if self.baselines is not None else None
        baseline = written.baseline if written and written.office365_id == contact.id else None
        edited = edited_fields(synced, central, outlook, baseline)
        held = held_fields(synced, self.policies, central, outlook, edited)
        return synced - held, edited, baseline or {}

    def new_contact(self, changes: tuple[FieldChange, ...]) -> tuple[FieldChange, ...]:
        """A new contact's values without its ignored fields (its body is made from them)."""
        if not self.ignored:
            return changes
        return tuple(c for c in changes if c.field not in self.ignored)


def _decide(
    record: CentralContact,
    reasons: list[Reason],
    found: Sequence[FolderContact],
    how: Match | None,
    synced: frozenset[str],
    three_way: _ThreeWay,
) -> PlanItem:
    key, line = record.key, record.line
    name, email = display_name(record.first_name, record.last_name), text(record.email)
    single = len(found) == 1
    office365_id = found[0].id if single else None
    match = how if single else None
    if reasons:
        return PlanItem(
            key=key,
            state=State.NON_ACTIONABLE,
            name=name,
            email=email,
            office365_id=office365_id,
            reasons=tuple(reasons),
            line=line,
            match=match,
        )
    if not found:
        changes = three_way.new_contact(new_contact_changes(record))
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
    contact = found[0]
    edited: tuple[str, ...] = ()
    baseline: Mapping[str, str] = {}
    kept: Mapping[str, str] = {}
    if three_way.active:
        wanted = synced
        synced, edited, baseline = three_way.fields(record.key, desired, contact, synced)
        kept = {f: baseline[f] for f in edited if f not in synced and f in wanted}
    changes_found, body = diff(desired, contact, synced, owned=how is Match.ANCHOR)
    if edited:
        changes_found = [
            c._replace(baseline=baseline[c.field] or None) if c.field in edited else c
            for c in changes_found
        ]
    return PlanItem(
        key=key,
        state=State.UPDATE if changes_found else State.UNCHANGED,
        name=name,
        email=email,
        office365_id=office365_id,
        changes=tuple(changes_found),
        body=body if changes_found else {},
        line=line,
        match=match,
        edited_in_office365=edited,
        kept_baseline=kept,
    )


def diff(
    desired: DesiredContact,
    contact: FolderContact,
    synced: Collection[str] | None = None,
    *,
    owned: bool = False,
) -> tuple[list[FieldChange], dict[str, Any]]:
    """The synced properties that differ, and the PATCH body that makes them equal.

    The body carries only changed properties (whole collections and whole address objects when
    they change) plus `displayName`, which Exchange may regenerate when it is left out (§1.1).
    Properties not in `synced` (their columns were not provided; None: all are) are left alone:
    an address object sent for its other parts keeps their current values.
    `owned`: the contact carries the record's anchor (its first address is Central's).
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
    if "emailAddresses[0]" in synced and email_key(first_email) != email_key(desired.email):
        changes.append(FieldChange("emailAddresses[0]", text(first_email) or None, desired.email))
        body["emailAddresses"] = [
            {"address": a.address, "name": a.name}
            for a in email_list(desired, contact, owned=owned)
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
        wanted_address: PostalAddress = desired.addresses[prop]._replace(**kept)
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
