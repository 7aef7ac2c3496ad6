"""Which of a plan's orphans a person chose to delete, and whether that is a mass delete (pure).

An orphan is a folder contact carrying a Central anchor whose record is gone, inactive or
non-actionable (`plan.build_plan`).  A person names them by Central id (the command line) or by
Office 365 id (the homepage's checkboxes); a name that is no orphan of the plan is reported,
never deleted: only orphans may be deleted this way, never a contact a record still syncs and
never one of people's own.

Must not: delete anything or read the folder (the engine does, after reading it again).
"""

from __future__ import annotations

from collections.abc import Iterable

from central365.core.guards import GuardThresholds, delete_guard
from central365.core.model import Guard, Orphan, Plan


def chosen_orphans(plan: Plan, wanted: Iterable[str]) -> tuple[tuple[Orphan, ...], tuple[str, ...]]:
    """The plan's orphans named by Central id or Office 365 id (in the folder's order), and
    the names that are neither (in the order given, once each)."""
    names = list(dict.fromkeys(w.strip() for w in wanted if w.strip()))
    asked = set(names)
    chosen = tuple(o for o in plan.orphans if o.key in asked or o.office365_id in asked)
    known = {o.key for o in chosen} | {o.office365_id for o in chosen}
    return chosen, tuple(n for n in names if n not in known)


def orphan_guards(
    plan: Plan, chosen: Iterable[Orphan], thresholds: GuardThresholds | None = None
) -> tuple[Guard, ...]:
    """`mass_delete` when deleting `chosen` is more of the folder than allowed; () otherwise."""
    tripped = delete_guard(len(list(chosen)), plan.folder_size, thresholds)
    return () if tripped is None else (tripped,)
