"""Per-field write policies and the three-way compare with the journal's baseline (pure).

For each synced field of a matched contact there are three values: what Central says now, what
Outlook holds now, and the *baseline*, what central365 last wrote there (the journal's, `None`
when central365 never wrote the contact).  A field is *edited in Office 365* when the baseline
is known, Outlook no longer holds it, and Central asks for something other than what Outlook
holds (a field where Central and Outlook agree again needs nothing, so it is not flagged).

Each field has one write policy (`[fields]` of `central365.toml`):

- `overwrite` (default): Central is master, as the seed says;
- `keep_office365_edits`: leave a field Outlook edited since the last write;
- `fill_blanks`: write only where Outlook is blank;
- `never_clear`: never blank a field because Central is blank;
- `ignore`: never synced (not compared, not written, not even on a new contact).

A field a policy leaves alone is neither a change nor in the PATCH body: the planner drops it
from the fields it syncs for that one contact (`held_fields`), exactly as a column the source
did not provide.  Values compare as the planner compares them (trimmed; email in any case).

Must not: read settings or the journal; the caller passes plain mappings.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from central365.core.normalize import email_key
from central365.core.provided import COLUMN_FIELDS

#: The field central365 matches contacts by: always synced (`ignore` would orphan every contact).
EMAIL_FIELD = "emailAddresses[0]"


class FieldPolicy(StrEnum):
    """How central365 writes one synced field.  The values are the settings' words."""

    OVERWRITE = "overwrite"
    KEEP_OFFICE365_EDITS = "keep_office365_edits"
    FILL_BLANKS = "fill_blanks"
    NEVER_CLEAR = "never_clear"
    IGNORE = "ignore"


class DeletedContacts(StrEnum):
    """What a contact central365 wrote and a person then deleted in Outlook becomes
    (`deleted_contacts` in the settings).  The values are the settings' words."""

    #: Planned as new again (Central is master): the default.
    RECREATE = "recreate"
    #: Left deleted: the record is non-actionable, `deleted_in_office365`.
    RESPECT_DELETES = "respect_deletes"


#: Policies per field (field names as in `FieldChange.field`); a field not named is `overwrite`.
FieldPolicies = Mapping[str, FieldPolicy]


def ignored_fields(policies: FieldPolicies) -> frozenset[str]:
    """The fields never synced (never the email: contacts are matched and created by it)."""
    return frozenset(f for f, p in policies.items() if p is FieldPolicy.IGNORE and f != EMAIL_FIELD)


def _same(field: str, left: str, right: str) -> bool:
    if field == EMAIL_FIELD:
        return email_key(left) == email_key(right)
    return left == right


def edited_fields(
    fields: frozenset[str],
    central: Mapping[str, str],
    outlook: Mapping[str, str],
    baseline: Mapping[str, str] | None,
) -> tuple[str, ...]:
    """The fields of `fields` Outlook changed since central365 last wrote them, where Central
    asks for something else (in the order of `central`); none without a baseline.

    A field the baseline does not hold (journalled before it was synced) is not flagged.
    """
    if baseline is None:
        return ()
    return tuple(
        f
        for f, wanted in central.items()
        if f in fields
        and f in baseline
        and not _same(f, outlook[f], baseline[f])
        and not _same(f, outlook[f], wanted)
    )


def held_fields(
    fields: frozenset[str],
    policies: FieldPolicies,
    central: Mapping[str, str],
    outlook: Mapping[str, str],
    edited: tuple[str, ...],
) -> frozenset[str]:
    """The fields of `fields` a policy leaves as Outlook holds them on this contact."""
    held: set[str] = set()
    for f, policy in policies.items():
        if f not in fields or f not in central:
            continue
        if (
            (policy is FieldPolicy.KEEP_OFFICE365_EDITS and f in edited)
            or (policy is FieldPolicy.FILL_BLANKS and outlook[f] != "")
            or (policy is FieldPolicy.NEVER_CLEAR and central[f] == "")
        ):
            held.add(f)
    return frozenset(held)


def synced_field_names() -> tuple[str, ...]:
    """Every field a policy may name, in the order of Central's columns."""
    return _synced_field_names()


def _synced_field_names() -> tuple[str, ...]:
    return tuple(dict.fromkeys(COLUMN_FIELDS.values()))


def parse_policies(raw: Mapping[str, object]) -> tuple[dict[str, FieldPolicy], list[str]]:
    """Policies as a person wrote them (field → policy word), and a sentence per field at fault.

    Fields are named as in `plan --json` (`mobilePhone`, `homeAddress.city`,
    `emailAddresses[0]`) or by the Central column feeding them (`mobile`, `home_town`); the
    words are `FieldPolicy`'s values, in any case.
    """
    known = _synced_field_names()
    words = ", ".join(p.value for p in FieldPolicy)
    policies: dict[str, FieldPolicy] = {}
    problems: list[str] = []
    for given, value in raw.items():
        name = COLUMN_FIELDS.get(given, given)
        if name not in known:
            problems.append(
                f"{given!r} is not a synced field: name one of {', '.join(known)} (or the "
                "Central column feeding it)."
            )
            continue
        word = value.strip().casefold() if isinstance(value, str) else ""
        try:
            policy = FieldPolicy(word)
        except ValueError:
            problems.append(f"{name}: {value!r} is not a write policy: use one of {words}.")
            continue
        if name == EMAIL_FIELD and policy is FieldPolicy.IGNORE:
            problems.append(
                f"{name} cannot be ignored: contacts are matched by it; choose another policy."
            )
            continue
        policies[name] = policy
    return policies, problems
