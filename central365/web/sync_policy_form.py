"""The Settings page's write policies: one select per synced field, and what a contact deleted
in Outlook becomes.

Kept apart from `settings_form` (the connection) and `guard_form` (the thresholds), like them
plain words with no secret.  The words are the command line's (`core.policy`); a value the page
did not offer is refused beside its field.  Choices equal to the start-up ones (`[fields]` and
`deleted_contacts` of central365.toml, `CENTRAL365_FIELDS`, `CENTRAL365_DELETED_CONTACTS`) are
stored as "none", so a later change of the start-up settings still applies; the command line
always uses the start-up ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from central365.core.mapping import field_label
from central365.core.policy import (
    EMAIL_FIELD,
    DeletedContacts,
    FieldPolicy,
    synced_field_names,
)

#: The form's field for `deleted_contacts`.
DELETED_CONTACTS_FIELD = "deleted_contacts"

POLICY_WORDS: Mapping[FieldPolicy, str] = {
    FieldPolicy.OVERWRITE: "Overwrite (Central is master)",
    FieldPolicy.KEEP_OFFICE365_EDITS: "Keep Outlook's edits",
    FieldPolicy.FILL_BLANKS: "Fill blanks only",
    FieldPolicy.NEVER_CLEAR: "Never clear",
    FieldPolicy.IGNORE: "Ignore (never synced)",
}
DELETED_WORDS: Mapping[DeletedContacts, str] = {
    DeletedContacts.RECREATE: "Recreate them (Central is master)",
    DeletedContacts.RESPECT_DELETES: "Respect the delete (leave them deleted)",
}


@dataclass(frozen=True, slots=True)
class PolicyRow:
    """One synced field on the page: its form name, words, and the policies it may take."""

    field: str
    name: str
    label: str
    choices: tuple[FieldPolicy, ...]


def policy_rows() -> tuple[PolicyRow, ...]:
    """Every synced field, in Central's column order (the email cannot be ignored)."""
    return tuple(
        PolicyRow(
            field,
            f"policy_{field}",
            field_label(field),
            tuple(p for p in FieldPolicy if not (field == EMAIL_FIELD and p is FieldPolicy.IGNORE)),
        )
        for field in synced_field_names()
    )


def shown_policies(policies: Mapping[str, FieldPolicy], deleted: DeletedContacts) -> dict[str, str]:
    """The page's selects for these policies (a field not named: `overwrite`)."""
    shown = {
        row.name: FieldPolicy(policies.get(row.field, FieldPolicy.OVERWRITE)).value
        for row in policy_rows()
    }
    shown[DELETED_CONTACTS_FIELD] = deleted.value
    return shown


def read_policies(form: Mapping[str, str]) -> dict[str, str]:
    """The selects as posted (trimmed); an absent one is blank (it keeps the shown value)."""
    names = [row.name for row in policy_rows()] + [DELETED_CONTACTS_FIELD]
    return {name: form.get(name, "").strip() for name in names}


def policy_problems(typed: Mapping[str, str]) -> dict[str, str]:
    """A sentence for each select holding a value the page did not offer."""
    problems: dict[str, str] = {}
    for row in policy_rows():
        word = typed.get(row.name, "")
        if word and word not in {p.value for p in row.choices}:
            problems[row.name] = (
                "The email cannot be ignored: contacts are matched by it. Choose another policy."
                if row.field == EMAIL_FIELD and word == FieldPolicy.IGNORE.value
                else "Choose one of the policies offered."
            )
    deleted = typed.get(DELETED_CONTACTS_FIELD, "")
    if deleted and deleted not in {d.value for d in DeletedContacts}:
        problems[DELETED_CONTACTS_FIELD] = "Choose recreate or respect the delete."
    return problems


def _meaningful(policies: Mapping[str, FieldPolicy]) -> dict[str, FieldPolicy]:
    return {f: p for f, p in policies.items() if p is not FieldPolicy.OVERWRITE}


def policies_of(
    typed: Mapping[str, str], start_up: Mapping[str, FieldPolicy]
) -> dict[str, FieldPolicy] | None:
    """The policies to store (a blank select keeps the start-up value); None when they are
    the start-up ones.  Call after `policy_problems` found none."""
    chosen = dict(start_up)
    for row in policy_rows():
        word = typed.get(row.name, "")
        if word:
            chosen[row.field] = FieldPolicy(word)
    kept = _meaningful(chosen)
    return None if kept == _meaningful(start_up) else kept


def deleted_contacts_of(
    typed: Mapping[str, str], start_up: DeletedContacts
) -> DeletedContacts | None:
    """The deleted-contacts policy to store; None when it is the start-up one."""
    word = typed.get(DELETED_CONTACTS_FIELD, "")
    chosen = DeletedContacts(word) if word else start_up
    return None if chosen is start_up else chosen
