"""Turn the selected plan items into folder writes and collect one outcome per record.

The executor interprets a `Plan`; it never decides anything the planner did not.  Every write
carries the record's anchor (`mapping.anchor_property`) besides the plan's body, so the contact
is found by its Central id on the next plan whether or not its write was journalled.  Records that
were selected but have nothing to do (unchanged, non-actionable, unknown keys) end as `skipped`
with the cause, so every selected key gets exactly one outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from central365.core.mapping import anchor_property
from central365.core.model import (
    ACTIONABLE_STATES,
    REASON_TEXT,
    ContactWrite,
    FolderContact,
    Outcome,
    Plan,
    PlanItem,
    State,
    WriteKind,
    WriteResult,
)
from central365.core.ports import ContactsFolder, ResultCallback


@dataclass(frozen=True, slots=True)
class Selection:
    """Which records a person asked to synchronise: all actionable ones, some states, some keys."""

    everything: bool = False
    states: frozenset[State] = frozenset()
    keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.states - ACTIONABLE_STATES:
            raise ValueError("only the new and update states can be selected")

    @property
    def empty(self) -> bool:
        return not (self.everything or self.states or self.keys)

    def picks(self, item: PlanItem) -> bool:
        return self.everything or item.state in self.states or item.key in self.keys


@dataclass(frozen=True, slots=True)
class SyncReport:
    """Every selected record's outcome, in plan order."""

    results: tuple[WriteResult, ...] = field(default_factory=tuple)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def failed(self) -> int:
        return self.count(Outcome.FAILED)


def skip_reason(item: PlanItem) -> str:
    if item.state is State.UNCHANGED:
        return "No updates to synchronise: Office 365 already has Central's values."
    reasons = "; ".join(REASON_TEXT[r] for r in item.reasons)
    return f"Non-actionable: {reasons}."


def select(plan: Plan, selection: Selection) -> tuple[list[ContactWrite], list[WriteResult]]:
    """The writes to send for a selection, and the outcomes of selected records that need none."""
    writes: list[ContactWrite] = []
    skipped: list[WriteResult] = []
    seen: set[str] = set()
    for item in plan.items:
        if not selection.picks(item):
            continue
        seen.add(item.key)
        if item.state is State.NEW:
            body = {**item.body, **anchor_property(item.key)}
            writes.append(ContactWrite(item.key, WriteKind.CREATE, body, item.email))
        elif item.state is State.UPDATE:
            body = {**item.body, **anchor_property(item.key)}
            writes.append(
                ContactWrite(item.key, WriteKind.UPDATE, body, item.email, item.office365_id)
            )
        elif selection.everything or item.state in selection.states:
            continue  # a bulk selection only means the records that have something to do
        else:
            skipped.append(
                WriteResult(item.key, Outcome.SKIPPED, item.office365_id, skip_reason(item))
            )
    for key in sorted(selection.keys - seen):
        skipped.append(
            WriteResult(key, Outcome.SKIPPED, None, "No active Central record has this id.")
        )
    return writes, skipped


#: Why a contact chosen for deletion was left alone.
NOT_IN_FOLDER = "It is no longer in the folder (already deleted, or moved to another folder)."
NOT_ANCHORED = (
    "It carries no Central id: central365 never deletes contacts it did not write "
    "(people's own contacts)."
)


def select_deletes(
    office365_ids: Iterable[str], current: Mapping[str, FolderContact]
) -> tuple[list[ContactWrite], list[WriteResult]]:
    """The deletes to send for the chosen contacts (`current`: the folder as just read, by id),
    and the outcomes of those left alone: gone already, or never written by central365.

    A delete is keyed by the contact's Central anchor; one asked for twice is deleted once.
    """
    writes: list[ContactWrite] = []
    skipped: list[WriteResult] = []
    for contact_id in dict.fromkeys(office365_ids):
        contact = current.get(contact_id)
        if contact is None:
            skipped.append(WriteResult("", Outcome.SKIPPED, contact_id, NOT_IN_FOLDER))
        elif not contact.anchor:
            skipped.append(WriteResult("", Outcome.SKIPPED, contact_id, NOT_ANCHORED))
        else:
            email = contact.email_addresses[0].address if contact.email_addresses else ""
            writes.append(ContactWrite(contact.anchor, WriteKind.DELETE, {}, email, contact.id))
    return writes, skipped


def execute(
    plan: Plan,
    selection: Selection,
    folder: ContactsFolder,
    on_result: ResultCallback | None = None,
) -> SyncReport:
    """Send the selected writes through the folder; one outcome per selected record."""
    writes, skipped = select(plan, selection)
    for result in skipped:
        if on_result is not None:
            on_result(result)
    written = folder.write(writes, on_result) if writes else []
    return SyncReport(results=tuple(_in_plan_order(plan, [*written, *skipped])))


def _in_plan_order(plan: Plan, results: Iterable[WriteResult]) -> list[WriteResult]:
    order = {item.key: n for n, item in enumerate(plan.items)}
    return sorted(results, key=lambda r: order.get(r.key, len(order)))
