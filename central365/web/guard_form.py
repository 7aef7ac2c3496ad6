"""The Settings page's guards against mass changes: five numbers, read and checked as typed.

Kept apart from `settings_form` (the connection's fields): these values are plain numbers with
no secret and no source policy.  A blank field means the start-up value
(`CENTRAL365_GUARD_*` / `central365.toml`); thresholds equal to the start-up ones are stored as
"none", so a later change of the start-up settings still applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from math import isfinite

from central365.core.guards import MIN_CONTACTS_RANGE, PERCENT_RANGE, GuardThresholds


@dataclass(frozen=True, slots=True)
class GuardField:
    """One threshold on the page: its form name, `GuardThresholds` attribute, words, bounds."""

    name: str
    attr: str
    label: str
    hint: str
    whole: bool = False  # a count, not a percentage

    @property
    def bounds(self) -> tuple[float, float]:
        """The same range the command line's settings accept (`core.guards`)."""
        return MIN_CONTACTS_RANGE if self.whole else PERCENT_RANGE


GUARD_FIELDS: tuple[GuardField, ...] = (
    GuardField(
        "guard_clear_percent",
        "clear_percent",
        "Clearing a field (% of matched contacts)",
        "Refuse a run that would blank one field on more than this share of the contacts "
        "Central matches in the folder.",
    ),
    GuardField(
        "guard_update_percent",
        "update_percent",
        "Updating the folder (% of its contacts)",
        "Refuse a run that would update more than this share of the folder's contacts.",
    ),
    GuardField(
        "guard_shrink_percent",
        "shrink_percent",
        "Central shrinking (% fewer active records than the last run)",
        "Refuse a run when Central has lost more than this share of its active records since "
        "the last run (or all of them).",
    ),
    GuardField(
        "guard_delete_percent",
        "delete_percent",
        "Deleting contacts (% of the folder)",
        "Refuse deleting more than this share of the folder's contacts at once (the contacts "
        "only in Office 365 an administrator chose).",
    ),
    GuardField(
        "guard_min_contacts",
        "min_contacts",
        "Smallest mass change (contacts)",
        "A change to fewer contacts than this is never a mass change, whatever its share.",
        whole=True,
    ),
)


def shown_values(thresholds: GuardThresholds) -> dict[str, str]:
    """The thresholds as the page's fields show them ("10", not "10.0")."""
    return {f.name: f"{getattr(thresholds, f.attr):g}" for f in GUARD_FIELDS}


def read_guards(form: Mapping[str, str]) -> dict[str, str]:
    """The fields as typed (trimmed); absent ones are blank."""
    return {f.name: form.get(f.name, "").strip() for f in GUARD_FIELDS}


def _number(field: GuardField, typed: str) -> float | int | None:
    try:
        value = int(typed) if field.whole else float(typed)
    except ValueError:
        return None
    low, high = field.bounds
    return value if isfinite(value) and low <= value <= high else None


def guard_problems(typed: Mapping[str, str]) -> dict[str, str]:
    """A sentence for each field that is not blank and not a number within its bounds."""
    problems: dict[str, str] = {}
    for field in GUARD_FIELDS:
        value = typed.get(field.name, "")
        if value and _number(field, value) is None:
            low, high = field.bounds
            kind = "a whole number" if field.whole else "a percentage"
            problems[field.name] = (
                f"Give {kind} from {low:,.0f} to {high:,.0f}, or leave it blank for the start-up value."
            )
    return problems


def thresholds_of(typed: Mapping[str, str], start_up: GuardThresholds) -> GuardThresholds | None:
    """The thresholds to store (blank fields take the start-up value); None when they are the
    start-up ones.  Call after `guard_problems` found none."""
    values = {f.name: getattr(start_up, f.name) for f in fields(GuardThresholds)}
    for field in GUARD_FIELDS:
        number = _number(field, typed.get(field.name, ""))
        if number is not None:
            values[field.attr] = number
    chosen = GuardThresholds(**values)
    return None if chosen == start_up else chosen
