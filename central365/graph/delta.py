"""Pure: the pages of one contacts delta round, folded into what changed in the folder.

Graph facts relied on (reference §2.4; `mgdc: api-reference/v1.0/api/contact-delta.md`,
`concepts/delta-query-messages.md`, the same Outlook model):

- a round is the first call (carrying `$select`) or the stored deltaLink, then every
  `@odata.nextLink` exactly as given, until a page carries `@odata.deltaLink`;
- `Prefer: odata.maxpagesize=n` caps the items per page;
- a removed contact comes as `{"id": ..., "@removed": {"reason": ...}}` (deleted, or moved out
  of the folder: either way no longer in it);
- the same contact may come more than once in a round and the order is not promised: the
  later entry of a round wins, a removal included.

Must not: send requests, read or write the cache (`graph.folder` does both), or know statuses
(`graph.errors.needs_resync` says when a token is refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from central365.core.ports import ContactJson

#: Items per delta page we ask for: the largest page Graph is reported to serve (§2.3), so a
#: round of k changes costs about k/1000 + 1 requests.
DELTA_PAGE_SIZE = 1000
DELTA_PREFER = f"odata.maxpagesize={DELTA_PAGE_SIZE}"


@dataclass(frozen=True, slots=True)
class DeltaPage:
    """One answer of a round: its items, and the link to follow or to keep."""

    items: tuple[Mapping[str, Any], ...]
    next_link: str | None
    delta_link: str | None


def read_page(body: Any) -> DeltaPage:
    """A delta answer's items and links.

    Raises:
        ValueError: the body is not a Graph list, or carries neither a nextLink nor a deltaLink
            (a round that cannot go on and cannot be kept).
    """
    if not isinstance(body, Mapping):
        raise ValueError("not a Graph list")
    values = body.get("value")
    items = tuple(i for i in values if isinstance(i, Mapping)) if isinstance(values, list) else ()
    next_link, delta_link = _link(body, "@odata.nextLink"), _link(body, "@odata.deltaLink")
    if next_link is None and delta_link is None:
        raise ValueError("a delta page with neither @odata.nextLink nor @odata.deltaLink")
    return DeltaPage(items, next_link, delta_link)


def _link(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


@dataclass
class RoundChanges:
    """What one round said: contacts now present (by id, last entry wins) and removed ids."""

    changed: dict[str, ContactJson] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)

    def add(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Fold one page in, in its order (an item without an id is no contact: skipped)."""
        for item in items:
            contact_id = item.get("id")
            if not isinstance(contact_id, str) or not contact_id:
                continue
            if "@removed" in item:
                self.changed.pop(contact_id, None)
                self.removed.add(contact_id)
            else:
                self.removed.discard(contact_id)
                self.changed[contact_id] = projected(item)

    @property
    def empty(self) -> bool:
        return not self.changed and not self.removed

    def applied_to(self, contacts: Mapping[str, ContactJson]) -> dict[str, ContactJson]:
        """The folder as last seen, with this round's changes and removals applied."""
        merged = dict(contacts)
        for contact_id in self.removed:
            merged.pop(contact_id, None)
        merged.update(self.changed)
        return merged


def projected(item: Mapping[str, Any]) -> ContactJson:
    """The contact's properties without OData annotations (`@odata.etag`, `@odata.type`)."""
    return {k: v for k, v in item.items() if not k.startswith("@")}
