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
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from central365.core.journal import JournalContact
from central365.core.mapping import (
    ADDRESS_FIELDS,
    ADDRESS_PART_NAMES,
    ADDRESS_PROPERTIES,
    FOLDER_SCALARS,
    DesiredContact,
    NewContactBody,
    NewContactChanges,
    address_json,
    current_address,
    desired_contact,
    desired_values,
    email_list,
    phone_list,
    synced_values,
)
from central365.core.model import (
    NO_BASELINE,
    NO_BODY,
    CentralContact,
    FieldChange,
    FolderContact,
    Match,
    Orphan,
    OrphanWhy,
    Plan,
    PlanItem,
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
    on_decided: Callable[[int, int], None] | None = None,
) -> Plan:
    """Decide what to do with every active Central record against the folder's contacts.

    `provided_columns` are the canonical columns the source had (None: every one);
    `baselines` the journal's last write per Central id (None: not known); `policies` the
    per-field write policies (None or a field left out: `overwrite`); `deleted_contacts`
    what a journalled contact deleted in Outlook becomes.  `on_decided(done, total)` is told
    how many of the `total` active records are decided, every `DECIDED_STEP` of them and at
    the end, so a front end can show progress: it is handed numbers only, and the plan does
    not depend on it.
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

    # Each record's id and email are keyed once here, for every pass below.
    ids = [record.key.strip() for record in records]
    emails = [record.email.strip() for record in records]
    email_keys = [email.casefold() for email in emails]
    id_counts = Counter(ids)
    own_reasons = [
        [*record_reasons(record), Reason.DUPLICATE_ID]
        if key and id_counts[key] > 1
        else record_reasons(record)
        for record, key in zip(records, ids, strict=True)
    ]
    del id_counts
    clean_emails = Counter(
        key for key, reasons in zip(email_keys, own_reasons, strict=True) if not reasons
    )
    by_email = _index_by_email(folder)
    by_anchor = _index_by_anchor(folder)
    matches = [
        _match(key, address_key, reasons, by_anchor, by_email)
        for key, address_key, reasons in zip(ids, email_keys, own_reasons, strict=True)
    ]
    del by_email, by_anchor
    conflicts = [
        not reasons and _anchor_conflict(key, found, how)
        for key, reasons, (found, how) in zip(ids, own_reasons, matches, strict=True)
    ]
    claimed = Counter(
        found[0].id
        for (found, _), reasons, conflict in zip(matches, own_reasons, conflicts, strict=True)
        if len(found) == 1 and not reasons and not conflict
    )

    folder_ids = {contact.id for contact in folder} if baselines else set()
    items: list[PlanItem] = []
    append = items.append
    total = len(records)
    if on_decided is not None:
        on_decided(0, total)
    for record, email, address_key, reasons, (found, how), conflict in zip(
        records, emails, email_keys, own_reasons, matches, conflicts, strict=True
    ):
        if reasons or conflict or len(found) > 1 or clean_emails[address_key] > 1:
            all_reasons = list(reasons)
            shared_in_central = not reasons and clean_emails[address_key] > 1
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
            append(_decide(record, email, all_reasons, found, how, synced, three_way))
        elif found and claimed[found[0].id] > 1:
            append(_decide(record, email, [Reason.DUPLICATE_EMAIL], found, how, synced, three_way))
        elif (
            not found
            and (deleted := _deleted_in_office365(record, baselines, folder_ids)) is not None
        ):
            # The contact central365 wrote for it was deleted in Outlook since.
            respected = deleted_contacts is DeletedContacts.RESPECT_DELETES
            why = [Reason.DELETED_IN_OFFICE365] if respected else []
            item = _decide(record, email, why, found, how, synced, three_way)
            append(item._replace(deleted_in_office365=True, deleted_since_run=deleted.run_id))
        else:  # the common case: a clean record that found one contact, or none
            append(_decide(record, email, [], found, how, synced, three_way))
        if on_decided is not None and len(items) % DECIDED_STEP == 0:
            on_decided(len(items), total)
    if on_decided is not None:
        on_decided(total, total)
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


#: How often `build_plan` tells `on_decided`: every this many records.
DECIDED_STEP = 10_000


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
    key: str,
    address_key: str,
    reasons: Sequence[Reason],
    by_anchor: dict[str, list[FolderContact]],
    by_email: dict[str, list[FolderContact]],
) -> tuple[list[FolderContact], Match | None]:
    """The contacts a record finds: those carrying its anchor (`key`, its trimmed id), else
    those with its email (`address_key`: trimmed, case-folded).

    A record without a usable id (missing or shared) finds nothing by anchor: an id several
    records share names no one record's contact.
    """
    if key and by_anchor and Reason.DUPLICATE_ID not in reasons:
        anchored = by_anchor.get(key)
        if anchored:
            return anchored, Match.ANCHOR
    if reasons and Reason.INVALID_EMAIL in reasons:
        return _NOTHING, None
    found = by_email.get(address_key)
    return (found, Match.EMAIL) if found else (_NOTHING, None)


#: What a record that finds no contact finds (shared, never changed).
_NOTHING: list[FolderContact] = []


def _anchor_conflict(key: str, found: Sequence[FolderContact], how: Match | None) -> bool:
    """Several contacts carry the record's anchor (`key`, its trimmed id), or its email found
    another record's contact."""
    if how is Match.ANCHOR:
        return len(found) > 1
    return len(found) == 1 and bool(anchor := text(found[0].anchor)) and anchor != key


def _index_by_anchor(folder: Iterable[FolderContact]) -> dict[str, list[FolderContact]]:
    """Folder contacts by the Central id they carry (people's own contacts carry none)."""
    index: dict[str, list[FolderContact]] = defaultdict(list)
    for contact in folder:
        # A folder contact's values are text (never None): `strip` is `text` here.
        if contact.anchor and (anchor := contact.anchor.strip()):
            index[anchor].append(contact)
    return index


def _index_by_email(folder: Iterable[FolderContact]) -> dict[str, list[FolderContact]]:
    """Folder contacts by each of their addresses (a contact listing one address twice counts once)."""
    index: dict[str, list[FolderContact]] = defaultdict(list)
    for contact in folder:
        addresses = contact.email_addresses
        if len(addresses) == 1:  # most contacts: no set to make
            if key := addresses[0].address.strip().casefold():
                index[key].append(contact)
            continue
        for key in {a.address.strip().casefold() for a in addresses}:
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
    email: str,
    reasons: list[Reason],
    found: Sequence[FolderContact],
    how: Match | None,
    synced: frozenset[str],
    three_way: _ThreeWay,
) -> PlanItem:
    """The entry of one record (`email`: its trimmed email) given what it found."""
    key, line = record.key, record.line
    name = display_name(record.first_name, record.last_name)
    single = len(found) == 1
    if reasons:
        return PlanItem(
            key,
            State.NON_ACTIONABLE,
            name,
            email,
            found[0].id if single else None,
            tuple(reasons),
            line=line,
            match=how if single else None,
        )
    if not found:
        changes = NewContactChanges(record, three_way.ignored)
        return PlanItem(
            key,
            State.NEW,
            name,
            email,
            None,
            (),
            changes,
            NewContactBody(name, changes),
            line,
        )
    desired = desired_contact(record, name)
    contact = found[0]
    edited: tuple[str, ...] = ()
    baseline: Mapping[str, str] = {}
    kept: Mapping[str, str] = NO_BASELINE
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
        key,
        State.UPDATE if changes_found else State.UNCHANGED,
        name,
        email,
        contact.id,
        (),
        tuple(changes_found),
        body if changes_found else NO_BODY,
        line,
        how,
        edited,
        kept,
    )


def diff(
    desired: DesiredContact,
    contact: FolderContact,
    synced: frozenset[str] | None = None,
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

    # On the path of every matched record: a folder contact's values are text (never None),
    # so `strip` is `text` here.
    for prop, wanted in desired.scalars.items():
        if prop not in synced:
            continue
        current = getattr(contact, FOLDER_SCALARS[prop]).strip()
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

    first_phone = contact.business_phones[0].strip() if contact.business_phones else ""
    if "businessPhones[0]" in synced and first_phone != desired.telephone:
        changes.append(
            FieldChange("businessPhones[0]", first_phone or None, desired.telephone or None)
        )
        body["businessPhones"] = phone_list(desired, contact)

    for prop in ADDRESS_PROPERTIES:
        current_addr = current_address(contact, prop)
        wanted_address = desired.addresses[prop]
        names = ADDRESS_PART_NAMES[prop]
        if synced.issuperset(names):
            if current_addr == wanted_address:  # the wanted parts are trimmed: nothing differs
                continue
            part_changes = [
                FieldChange(name, current.strip() or None, wanted or None)
                for name, current, wanted in zip(names, current_addr, wanted_address, strict=True)
                if current.strip() != wanted
            ]
        else:  # some parts were not provided: they keep their current values
            kept = {
                attr: getattr(current_addr, attr)
                for name, attr in zip(names, ADDRESS_FIELDS.values(), strict=True)
                if name not in synced
            }
            wanted_address = wanted_address._replace(**kept)
            part_changes = [
                FieldChange(name, text(getattr(current_addr, attr)) or None, wanted or None)
                for name, attr in zip(names, ADDRESS_FIELDS.values(), strict=True)
                if attr not in kept
                and text(getattr(current_addr, attr)) != (wanted := getattr(wanted_address, attr))
            ]
        if part_changes:
            changes.extend(part_changes)
            body[prop] = address_json(wanted_address)

    if changes:
        body["displayName"] = desired.display_name
    return changes, body
