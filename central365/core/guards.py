"""Guards against mass changes: checked over a plan before anything is written (pure).

A wrong export, a column renamed, the wrong Central chosen: each shows up as a run that
changes far more than runs usually do.  Three checks, each with a threshold from the settings:

- `mass_clear`: one field would be cleared on more than `clear_percent` of the matched
  contacts (records in `update` or `unchanged`, with an Office 365 contact);
- `mass_update`: more than `update_percent` of the folder's contacts would be updated;
- `source_shrunk`: the active Central has fewer records than the last run by more than
  `shrink_percent`, or none at all.  The last run's size comes from the caller (the journal);
  without it the check is not made;
- `mass_delete` (`delete_guard`, checked when an admin deletes orphans, never by a sync):
  more than `delete_percent` of the folder's contacts would be deleted.

"More than" is strict: exactly 10 % of 50 (5 clears) passes, 6 trips.  A check also needs at
least `min_contacts` contacts affected (cleared, updated, gone): a small folder whose one
contact changes is not a mass change.  Only Central shrinking *to zero* trips whatever its size.

`selected` narrows the clears and updates counted to the records a sync would write, so
syncing a handful of records never trips a guard meant for the whole folder; the share is
still of all matched contacts (or of the folder).

Must not: read settings, the clock or the journal; the caller passes plain numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from central365.core.mapping import field_label
from central365.core.model import Guard, GuardCode, Plan, PlanItem, State

DEFAULT_CLEAR_PERCENT = 10.0
DEFAULT_UPDATE_PERCENT = 50.0
DEFAULT_SHRINK_PERCENT = 50.0
DEFAULT_MIN_CONTACTS = 10
DEFAULT_DELETE_PERCENT = 10.0
#: What each threshold may be set to (the command line's settings and the Settings page alike).
PERCENT_RANGE: tuple[float, float] = (0.0, 100.0)
MIN_CONTACTS_RANGE: tuple[int, int] = (1, 1_000_000)


@dataclass(frozen=True, slots=True)
class GuardThresholds:
    """How much change a run may make before it must be allowed (percentages, 0 to 100)."""

    clear_percent: float = DEFAULT_CLEAR_PERCENT
    update_percent: float = DEFAULT_UPDATE_PERCENT
    shrink_percent: float = DEFAULT_SHRINK_PERCENT
    min_contacts: int = DEFAULT_MIN_CONTACTS
    delete_percent: float = DEFAULT_DELETE_PERCENT


def check_guards(
    plan: Plan,
    thresholds: GuardThresholds | None = None,
    *,
    previous_source_size: int | None = None,
    selected: Collection[str] | None = None,
) -> tuple[Guard, ...]:
    """The guards `plan` trips, in the order mass_clear, mass_update, source_shrunk.

    `previous_source_size` is the active Central's size at the last run (None: not known, the
    check is skipped); `selected` the keys a sync would write (None: every actionable record).
    `thresholds` None means the defaults.
    """
    thresholds = thresholds or GuardThresholds()
    writing = [
        item
        for item in plan.items
        if item.state is State.UPDATE and (selected is None or item.key in selected)
    ]
    found = (
        _mass_clear(plan, writing, thresholds),
        _mass_update(plan, writing, thresholds),
        _source_shrunk(plan, previous_source_size, thresholds),
    )
    return tuple(guard for guard in found if guard is not None)


def _over(count: int, total: int, percent: float, minimum: int) -> bool:
    """More than `percent` of `total`, and at least `minimum`."""
    return total > 0 and count >= minimum and count * 100 > percent * total


def _percent(count: int, total: int) -> str:
    return f"{round(count * 100 / total)} %"


def _mass_clear(plan: Plan, writing: list[PlanItem], limits: GuardThresholds) -> Guard | None:
    matched = sum(
        1
        for item in plan.items
        if item.office365_id is not None and item.state in (State.UPDATE, State.UNCHANGED)
    )
    cleared = Counter(
        change.field
        for item in writing
        for change in item.changes
        if change.before and not change.after
    )
    tripped = [
        (field, count)
        for field, count in cleared.most_common()
        if _over(count, matched, limits.clear_percent, limits.min_contacts)
    ]
    if not tripped:
        return None
    fields = ", ".join(
        f"{field_label(field)} on {count} ({_percent(count, matched)})" for field, count in tripped
    )
    return Guard(
        GuardCode.MASS_CLEAR,
        f"The run would clear {fields} of the {matched} matched contacts: more than the "
        f"{limits.clear_percent:g} % allowed.",
    )


def _mass_update(plan: Plan, writing: list[PlanItem], limits: GuardThresholds) -> Guard | None:
    updates, size = len(writing), plan.folder_size
    if not _over(updates, size, limits.update_percent, limits.min_contacts):
        return None
    return Guard(
        GuardCode.MASS_UPDATE,
        f"The run would update {updates} of the folder's {size} contacts "
        f"({_percent(updates, size)}): more than the {limits.update_percent:g} % allowed.",
    )


def _source_shrunk(plan: Plan, previous: int | None, limits: GuardThresholds) -> Guard | None:
    if not previous or previous < 0:
        return None
    active = len(plan.items)
    if active == 0:
        return Guard(
            GuardCode.SOURCE_SHRUNK,
            f"Central has no active records now, against {previous} at the last run: "
            "check that the right Central is chosen.",
        )
    gone = previous - active
    if not _over(gone, previous, limits.shrink_percent, limits.min_contacts):
        return None
    return Guard(
        GuardCode.SOURCE_SHRUNK,
        f"Central has {active} active records now, against {previous} at the last run "
        f"({_percent(gone, previous)} fewer): more than the {limits.shrink_percent:g} % allowed.",
    )


def delete_guard(
    deleting: int, folder_size: int, thresholds: GuardThresholds | None = None
) -> Guard | None:
    """`mass_delete` when deleting `deleting` of the folder's `folder_size` contacts is more
    than `delete_percent` of it (and at least `min_contacts`); None otherwise."""
    limits = thresholds or GuardThresholds()
    if not _over(deleting, folder_size, limits.delete_percent, limits.min_contacts):
        return None
    return Guard(
        GuardCode.MASS_DELETE,
        f"Deleting {deleting} of the folder's {folder_size} contacts "
        f"({_percent(deleting, folder_size)}) is more than the {limits.delete_percent:g} % allowed.",
    )
