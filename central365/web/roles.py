"""Who may do what on the homepage: one pure policy from roles, admins, mode and consent.

The rules (issue 6, README "Who may do what"):

- `Central365.Admin` (an Entra app role, or a name in the start-up `admins`): Settings, every
  run and every mailbox's history, and may start runs;
- `Central365.Sync`: may start runs in app-only mode (into the configured mailbox, with the
  app's permission);
- everyone signed in from the tenant: the plan of the mailbox they may act on, and in
  delegated mode synchronise into **their own** mailbox only (their own token decides what
  Graph allows).  In app-only mode a person without Admin or Sync has no mailbox to act on.
- an application calling the API (client credentials) acts only in app-only mode, and only
  with an app role (checked when its token is verified).

Delegated mode always means the person's own mailbox (Graph's `/me`): a stored target mailbox
is for app-only mode only, so no setting can make a person's token write elsewhere.

Roles are read from the ID token at sign-in and kept in the server-side session, or from a
verified access token's `roles`; nothing a browser sends can add one.  Must not: do I/O.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from central365.appdb import AuthChoice

#: The delegated permission that lets a token write contacts (and its application twin).
WRITE_PERMISSION = "Contacts.ReadWrite"


class Role(StrEnum):
    """The app roles of the central365 app registration (values as in the `roles` claim)."""

    ADMIN = "Central365.Admin"
    SYNC = "Central365.Sync"


def roles_of(claimed: Iterable[str]) -> frozenset[Role]:
    """The app roles among a token's `roles` (any case); anything else is ignored."""
    by_folded = {role.value.casefold(): role for role in Role}
    return frozenset(by_folded[c.casefold()] for c in claimed if c.casefold() in by_folded)


@dataclass(frozen=True, slots=True)
class Person:
    """Who asks, as the policy needs it: their ids, their roles, a person or an application."""

    key: str  # stable within this app (the user row's id): names their delegated plan
    oid: str
    username: str  # the UPN: their own mailbox; "" for an application
    roles: frozenset[Role]
    is_app: bool = False


@dataclass(frozen=True, slots=True)
class Access:
    """What one caller may do under the settings in force."""

    mode: AuthChoice
    roles: frozenset[Role]
    is_admin: bool
    own_mailbox: str | None  # a person's own mailbox; None for an application
    acts_on: str | None  # the mailbox this caller may plan and synchronise; None: none
    refusal: str | None  # why `acts_on` is None, naming the role to ask for
    plan_scope: str  # who may share a plan made for this caller

    @property
    def may_open_settings(self) -> bool:
        return self.is_admin

    @property
    def may_see_every_run(self) -> bool:
        return self.is_admin

    @property
    def may_start_runs(self) -> bool:
        return self.acts_on is not None

    @property
    def visible_mailboxes(self) -> frozenset[str] | None:
        """The mailboxes whose runs History shows (case-folded); None for every mailbox."""
        if self.is_admin:
            return None
        return frozenset(m.casefold() for m in (self.own_mailbox, self.acts_on) if m)

    def may_see_run(self, mailbox: str) -> bool:
        visible = self.visible_mailboxes
        return visible is None or mailbox.strip().casefold() in visible


def is_named_admin(person: Person, admins: Collection[str]) -> bool:
    """Whether the start-up `admins` names this person (UPN or object id, any case)."""
    named = {a.strip().casefold() for a in admins if a.strip()}
    ids = {i.casefold() for i in (person.oid, person.username) if i}
    return bool(named & ids)


NO_ROLE_APP_ONLY = (
    "central365 writes into the shared mailbox with the app's own permission, which only people "
    f"with the {Role.SYNC.value} or {Role.ADMIN.value} role may use: ask an administrator to "
    f"assign you the {Role.SYNC.value} role of the central365 app."
)
APP_IN_DELEGATED = (
    "An application token can act only when central365 uses app-only access; in delegated "
    "access each person synchronises their own mailbox, signed in."
)


def access_for(
    person: Person, *, mode: AuthChoice, target_mailbox: str | None, admins: Collection[str]
) -> Access:
    """The caller's access under the stored mode and target mailbox."""
    is_admin = Role.ADMIN in person.roles or is_named_admin(person, admins)
    roles = person.roles | ({Role.ADMIN} if is_admin else set())
    own = None if person.is_app else (person.username or None)
    acts_on: str | None = None
    refusal: str | None = None
    if mode is AuthChoice.APP_ONLY:
        if not (is_admin or Role.SYNC in roles):
            refusal = NO_ROLE_APP_ONLY
        elif not target_mailbox:
            refusal = (
                "App-only access needs a target mailbox, which an administrator sets on the "
                "Settings page."
            )
        else:
            acts_on = target_mailbox
        scope = "app"
    else:
        if person.is_app:
            refusal = APP_IN_DELEGATED
        elif own is None:
            refusal = "Your account has no mailbox name, so there is nothing to synchronise into."
        else:
            acts_on = own
        scope = f"user:{person.key}"
    return Access(mode, frozenset(roles), is_admin, own, acts_on, refusal, scope)


def _short(scope: str) -> str:
    """`https://graph.microsoft.com/Contacts.ReadWrite` → `contacts.readwrite`."""
    return scope.rsplit("/", 1)[-1].casefold()


def write_refusal(mode: AuthChoice, granted: Iterable[str]) -> str | None:
    """Why the token in use cannot write contacts, in words for the mode; None when it can."""
    if WRITE_PERMISSION.casefold() in {_short(s) for s in granted}:
        return None
    if mode is AuthChoice.APP_ONLY:
        return (
            f"The central365 app does not hold the application permission {WRITE_PERMISSION}: "
            "ask an administrator to grant it, with admin consent."
        )
    return (
        f"Your Microsoft sign-in does not allow central365 to write contacts "
        f"({WRITE_PERMISSION} is not consented): ask an administrator to grant admin consent "
        f"for {WRITE_PERMISSION}, then sign in again."
    )


#: How a run's error names Graph's 403 (`graph.errors.error_from_response`: "(403 Code: …").
_DENIED = re.compile(r"\(403\b")


def denied_advice(mode: AuthChoice, error: str | None) -> str | None:
    """What to do about a run that Office 365 stopped with 403, for the mode; else None."""
    if not error or not _DENIED.search(error):
        return None
    if mode is AuthChoice.APP_ONLY:
        return (
            "Office 365 refused the central365 app: it lacks the application permission "
            f"{WRITE_PERMISSION} or its admin consent, or an Exchange RBAC scope (application "
            "access policy) keeps it out of this mailbox. Ask an administrator to check both."
        )
    return (
        "Office 365 refused your account: your sign-in lacks consent to "
        f"{WRITE_PERMISSION} for this mailbox. Ask an administrator to grant admin consent "
        "for it, then sign in again."
    )
