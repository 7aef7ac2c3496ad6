"""Canonical forms used to compare Central values with Office 365 values (pure).

The comparison rules are few on purpose, so that a record never shows as "requires update"
because of noise: text is trimmed, emails compare in any case, and absent, `null`, "" and an
empty address object are all blank.  Graph properties that are not synced are never compared;
`IGNORED_GRAPH_PROPERTIES` says why each one is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: Graph contact properties read or returned by Graph that the comparison ignores, with why.
IGNORED_GRAPH_PROPERTIES: Mapping[str, str] = {
    "id": "server-assigned identity, used for matching only through emailAddresses",
    "displayName": "derived from the names; sent on every write but never compared",
    "changeKey": "version marker that changes on every write",
    "@odata.etag": "version marker that changes on every write",
    "createdDateTime": "server-managed timestamp",
    "lastModifiedDateTime": "server-managed timestamp",
    "parentFolderId": "the folder is chosen by settings, not by the record",
    "fileAs": "Outlook's filing name, owned by the person using Outlook",
    "personalNotes": "not synced: notes written in Outlook are kept",
    "categories": "not synced: categories set in Outlook are kept",
    "companyName": "not synced",
    "jobTitle": "not synced",
    "birthday": "not synced",
    "homePhones": "not synced",
    "otherAddress": "not synced",
}


def text(value: str | None) -> str:
    """A value as compared: trimmed, with `None` read as blank."""
    return "" if value is None else value.strip()


def email_key(value: str | None) -> str:
    """An email as matched: trimmed and case-folded ("" when blank)."""
    return text(value).casefold()


def join_street(lines: Iterable[str]) -> str:
    """Central's address lines as Graph's single street: non-blank lines, trimmed, joined by ", "."""
    return ", ".join([part for line in lines if (part := line.strip())])


def display_name(first_name: str, last_name: str) -> str:
    """The `displayName` we send: "First Last", trimmed, without a dangling space."""
    first, last = first_name.strip(), last_name.strip()
    return f"{first} {last}" if first and last else first or last
