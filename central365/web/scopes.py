"""The Scopes panel: what the sync needs, next to what the current token was granted.

The granted set comes from msal's token result (`scope`) or, failing that, the token's own
`scp`/`roles` claims, decoded for display only (`identity.granted_scopes`).  When something the
sync needs is missing, the panel offers the admin-consent link of the tenant.

The product description recommends sixteen broad scopes; none beyond `Contacts.ReadWrite` is
needed (it covers listing, creating and updating folders and contacts), so the panel says so
rather than asking for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from central365.appdb import AppSettings, AuthChoice
from central365.web.clients import tenant_of
from central365.web.identity import OIDC_SCOPES

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"

#: Delegated permissions and why the sync needs each.
DELEGATED_NEEDS: tuple[tuple[str, str], ...] = (
    (
        "Contacts.ReadWrite",
        "list the contacts folders, create the folder, create and update contacts",
    ),
    ("User.Read", "sign you in and read your name"),
)
#: The application permission for app-only access to a shared or service mailbox.
APPLICATION_NEEDS: tuple[tuple[str, str], ...] = (
    ("Contacts.ReadWrite", "the same, in the target mailbox, without a signed-in person"),
)
#: Recommended by the product description, and not needed: see the module docstring.
NOT_NEEDED: tuple[str, ...] = (
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
    "Calendars.ReadWrite.Shared",
    "Contacts.Read",
    "Mail.ReadWrite",
    "MailboxSettings.Read",
    "MailboxSettings.ReadWrite",
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite",
    "User.ReadWrite.All",
    "email",
)


@dataclass(frozen=True, slots=True)
class ScopeRow:
    name: str
    kind: str  # "delegated", "application" or "sign-in"
    why: str
    granted: bool | None  # None: not carried in the access token (the sign-in scopes)


@dataclass(frozen=True, slots=True)
class ScopesPanel:
    rows: tuple[ScopeRow, ...]
    granted: tuple[str, ...]  # everything the token carries, needed or not
    missing: tuple[str, ...]
    consent_url: str | None
    error: str | None  # why the granted scopes could not be read

    @property
    def extra(self) -> tuple[str, ...]:
        """Granted beyond what the sync needs (worth removing from the app registration)."""
        needed = {row.name.casefold() for row in self.rows}
        return tuple(s for s in self.granted if s.casefold() not in needed)


def consent_url(app: AppSettings, authority_host: str, redirect_uri: str) -> str | None:
    if not app.client_id:
        return None
    query = urlencode(
        {"client_id": app.client_id, "scope": GRAPH_DEFAULT, "redirect_uri": redirect_uri}
    )
    return f"{authority_host.rstrip('/')}/{tenant_of(app)}/v2.0/adminconsent?{query}"


def scopes_panel(
    app: AppSettings,
    granted: frozenset[str] | None,
    *,
    authority_host: str,
    redirect_uri: str,
    error: str | None = None,
) -> ScopesPanel:
    """The panel for `app`'s mode; `granted` None when no token could be had (`error` says why)."""
    held = {s.casefold() for s in granted} if granted is not None else None

    def row(name: str, kind: str, why: str) -> ScopeRow:
        return ScopeRow(name, kind, why, None if held is None else name.casefold() in held)

    if app.auth_mode is AuthChoice.APP_ONLY:
        rows = tuple(row(n, "application", w) for n, w in APPLICATION_NEEDS)
    else:
        rows = (
            *(row(n, "delegated", w) for n, w in DELEGATED_NEEDS),
            *(ScopeRow(n, "sign-in", "added by msal at sign-in", None) for n in OIDC_SCOPES),
        )
    missing = tuple(r.name for r in rows if r.granted is False)
    return ScopesPanel(
        rows=rows,
        granted=tuple(sorted(granted or ())),
        missing=missing,
        consent_url=consent_url(app, authority_host, redirect_uri) if missing else None,
        error=error,
    )
