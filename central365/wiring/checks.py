"""The one check of a connection's settings: every problem, each tied to the field at fault.

Both fronts ask the same questions — is there a client id, a credential, a tenant for app
sign-in, a named mailbox when no person signs in, a folder name Graph takes — through
`problems_of(Draft)`.  Each answers in its own words with one translator (`config` names the
`CENTRAL365_*` variable to set; the Settings form puts a sentence beside the field), because a
message to fix a variable and one beside a form field cannot be the same sentence.  `message`
is the neutral wording, for a front without its own (a worker's log).

Must not: read files or the network (a front checks its own files and URLs) — pure rules only.

To add a rule: a `Rule` (or reuse MISSING/MALFORMED) on a `Setting`, its check in `problems_of`,
its neutral sentence in `_MESSAGES`, and a sentence in each front's translator (a test fails
when one is missing: `tests/wiring/test_checks.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from central365.wiring.connection import SignInMode

#: Graph's limit on a contact folder's display name; a slash would read as a path.
MAX_FOLDER_NAME = 255
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
#: A tenant id, a verified domain, or a name the authority accepts (a test tenant).
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$")
_TENANT_WORDS = frozenset({"organizations", "common", "consumers"})
_MAILBOX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Graph's name for the signed-in person's own mailbox.
ME = "me"
#: An object id and a mailbox address as the targets' checks read them (`target_checks`).
GUID, MAILBOX = _GUID, _MAILBOX


class Setting(StrEnum):
    """The connection's fields the rules speak of (each front knows its own name for them)."""

    FOLDER = "folder"
    TENANT = "tenant"
    CLIENT_ID = "client_id"
    CREDENTIAL = "credential"
    MAILBOX = "mailbox"


class Rule(StrEnum):
    MISSING = "missing"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One broken rule: which field, and how."""

    field: Setting
    rule: Rule

    @property
    def message(self) -> str:
        """The neutral sentence (each front has its own, naming where to fix it)."""
        return _MESSAGES[self.field, self.rule]


@dataclass(frozen=True, slots=True)
class Draft:
    """What a front was told, before it becomes a `Connection`.

    `mode` None is the homepage's signed-in person: the app registration is a confidential
    client, so it needs its client id and credential even though the person's token is used.
    `mailbox` empty or `me` means the signed-in person's own mailbox.
    """

    mode: SignInMode | None
    folder: str
    tenant: str | None
    client_id: str | None
    has_credential: bool
    mailbox: str | None


def problems_of(draft: Draft) -> list[FieldProblem]:
    """Every problem of the draft, in the order a person fixes them; empty when it is usable."""
    checks = (
        (Setting.TENANT, _tenant_rule),
        (Setting.CLIENT_ID, _client_id_rule),
        (Setting.CREDENTIAL, _credential_rule),
        (Setting.MAILBOX, _mailbox_rule),
        (Setting.FOLDER, _folder_rule),
    )
    return [FieldProblem(setting, rule) for setting, check in checks if (rule := check(draft))]


def _tenant_rule(draft: Draft) -> Rule | None:
    """App sign-in asks the tenant's own authority: a multi-tenant word has no app token."""
    tenant = (draft.tenant or "").strip()
    if draft.mode is not SignInMode.APP:
        return None
    if not tenant:
        return Rule.MISSING
    if tenant.casefold() in _TENANT_WORDS or not _TENANT.match(tenant):
        return Rule.MALFORMED
    return None


def _client_id_rule(draft: Draft) -> Rule | None:
    """Every sign-in but the sandbox's names the app registration."""
    if draft.mode is SignInMode.SANDBOX:
        return None
    client_id = draft.client_id or ""
    if not client_id:
        return Rule.MISSING
    if len(client_id) > 128 or any(c.isspace() for c in client_id):
        return Rule.MALFORMED
    return None


def _credential_rule(draft: Draft) -> Rule | None:
    """A confidential client (app sign-in, the homepage) proves itself; device sign-in cannot."""
    confidential = draft.mode in (SignInMode.APP, None)
    return Rule.MISSING if confidential and not draft.has_credential else None


def _mailbox_rule(draft: Draft) -> Rule | None:
    """App sign-in has no `me`; any named mailbox is an address or an object id."""
    mailbox = (draft.mailbox or "").strip()
    if mailbox.casefold() in ("", ME):
        return Rule.MISSING if draft.mode is SignInMode.APP else None
    if _MAILBOX.match(mailbox) or _GUID.match(mailbox):
        return None
    return Rule.MALFORMED


def _folder_rule(draft: Draft) -> Rule | None:
    """Graph refuses an empty or overlong display name; a slash would read as a path."""
    if not draft.folder:
        return Rule.MISSING
    if len(draft.folder) > MAX_FOLDER_NAME or "/" in draft.folder or "\\" in draft.folder:
        return Rule.MALFORMED
    return None


_MESSAGES: dict[tuple[Setting, Rule], str] = {
    (Setting.FOLDER, Rule.MISSING): "Name the contacts folder to write into.",
    (Setting.FOLDER, Rule.MALFORMED): (
        f"A folder name has at most {MAX_FOLDER_NAME} characters and no / or \\."
    ),
    (Setting.TENANT, Rule.MISSING): "App sign-in needs the tenant's id or domain.",
    (Setting.TENANT, Rule.MALFORMED): (
        "App sign-in needs the tenant's own id or domain, not organizations or common."
    ),
    (Setting.CLIENT_ID, Rule.MISSING): "Give the application (client) id of the app registration.",
    (Setting.CLIENT_ID, Rule.MALFORMED): "The client id is one word, such as a GUID.",
    (Setting.CREDENTIAL, Rule.MISSING): "Give a client secret or a certificate: sign-in needs one.",
    (Setting.MAILBOX, Rule.MISSING): "App sign-in writes into a named mailbox: give its address.",
    (Setting.MAILBOX, Rule.MALFORMED): "Give the mailbox's address (name@domain) or its object id.",
}
