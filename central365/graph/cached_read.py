"""`CachedRead`: one folder's contacts as kept in a `FolderCache`, brought up to date by Graph.

With nothing changed in Outlook a plan's folder read is one request (the delta round's only
page); k changes cost about k/1000 + 1 (reference §2.4, `graph.delta`).  A token Graph no longer
knows (`410`, `syncStateNotFound`, `resyncRequired`) costs one refused request, then a full
round that replaces what was kept.  Writes by central365 need no bookkeeping here: they change
contacts, so the next round reports them like any other change.

Extended properties (`expand`): the contact delta page documents `$select` only — unlike the
messages page, which lists `$expand` — and a delta with `$expand=singleValueExtendedProperties`
was seen to fail with a 500 (mgdc#7929).  So a round never asks for them.  A changed contact
whose `changeKey` is the one kept still carries the kept properties (nothing changed but, say,
its place in the round); every other changed contact has them re-read, 20 per `$batch` of GETs
(reference §2.5: read only with `$expand` on a GET).  A full read takes the delta round for its
link, then lists the folder with `$expand` (`$top=1000`) for the contacts themselves: the list
is newer than the link, and the next round re-reports anything in between.

Must not: decide what a change means for the plan, or write contacts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from central365.core.errors import GraphError, NotFound
from central365.core.mapping import GRAPH_SELECT
from central365.core.ports import ContactJson, FolderCache, FolderSnapshot
from central365.graph.batch import (
    MAX_BATCH_REQUESTS,
    BatchRequest,
    build_batch,
    chunks,
    parse_batch_response,
)
from central365.graph.client import GraphClient, build_query, graph_id
from central365.graph.delta import DELTA_PREFER, RoundChanges, projected, read_page
from central365.graph.errors import Verdict, classify, needs_resync

logger = logging.getLogger(__name__)

#: The relationship an `$expand` of extended properties fills in (reference §2.5).
EXPANDED = "singleValueExtendedProperties"
#: `$top` of the full list with `$expand` (reference §2.3).
LIST_PAGE_SIZE = 1000


class CachedRead:
    """Read one folder through its cache.

    Args:
        client: the mailbox's client.
        path: the folder's contacts path (`{u}/contactFolders/{id}/contacts`).
        folder_id: the cache's key for the folder.
        cache: the mailbox's folder cache.
        expand: the `$expand` every kept contact must carry, or None.
    """

    def __init__(
        self,
        client: GraphClient,
        path: str,
        folder_id: str,
        cache: FolderCache,
        expand: str | None = None,
    ) -> None:
        self._client = client
        self._path = path
        self._folder_id = folder_id
        self._cache = cache
        self._expand = expand

    def contacts(self) -> dict[str, ContactJson]:
        """The folder now, by contact id (the cache updated on the way)."""
        kept = self._cache.load(self._folder_id)
        if kept is not None:
            try:
                link, changes = self._round(kept.delta_link)
            except GraphError as exc:
                if not needs_resync(exc):
                    raise
                logger.info("the folder's delta token was refused: reading the whole folder")
            else:
                self._carry_expanded(changes, kept.contacts)
                if not changes.empty or link != kept.delta_link:
                    self._cache.update(self._folder_id, link, changes.changed, changes.removed)
                return changes.applied_to(kept.contacts)
        return self._full()

    def _full(self) -> dict[str, ContactJson]:
        first = self._client.url(f"{self._path}/delta", {"$select": ",".join(GRAPH_SELECT)})
        # With `expand`, the round is read for its link only: its items are not kept, so a
        # large folder's contacts are never held twice while the list is read.
        link, changes = self._round(first, keep=self._expand is None)
        contacts = changes.changed if self._expand is None else self._list_expanded()
        self._cache.replace(self._folder_id, FolderSnapshot(link, contacts))
        return dict(contacts)

    def _round(self, url: str, *, keep: bool = True) -> tuple[str, RoundChanges]:
        """Follow one round from `url` to its deltaLink; the link and what the pages said
        (nothing, unless `keep`)."""
        changes = RoundChanges()
        next_url = url
        while True:
            body = self._client.get(next_url, what="the folder's changes", prefer=DELTA_PREFER)
            try:
                page = read_page(body)
            except ValueError:
                raise GraphError(
                    "Office 365 answered the folder's changes with something that is not a "
                    "delta page; check that the Graph URL points at Microsoft Graph v1.0."
                ) from None
            if keep:
                changes.add(page.items)
            if page.delta_link is not None:
                return page.delta_link, changes
            assert page.next_link is not None  # read_page guarantees one of the two
            next_url = page.next_link

    def _list_expanded(self) -> dict[str, ContactJson]:
        params = {
            "$select": ",".join(GRAPH_SELECT),
            "$top": str(LIST_PAGE_SIZE),
            "$expand": self._expand or "",
        }
        url = self._client.url(self._path, params)
        found: dict[str, ContactJson] = {}
        for item in self._client.pages(url, what="the folder's contact list"):
            contact_id = item.get("id")
            if isinstance(contact_id, str) and contact_id:
                found[contact_id] = projected(item)
        return found

    def _carry_expanded(self, changes: RoundChanges, kept: Mapping[str, ContactJson]) -> None:
        """Give each changed contact its extended properties: kept, or read again.

        Kept when the contact is unchanged, or when it already carried them: the Central anchor
        is written only by central365, always the same record's id onto the same contact, and
        Outlook cannot edit it, so a person's edit leaves it as it was.  Read again (one `$batch`
        per 20) for contacts new to the snapshot and those that carried none (central365 may have
        just anchored a contact it found by email).
        """
        if self._expand is None:
            return
        stale: list[str] = []
        for contact_id, item in changes.changed.items():
            old = kept.get(contact_id)
            same = old is not None and old.get("changeKey") == item.get("changeKey")
            if old is not None and EXPANDED in old and (same or old[EXPANDED]):
                changes.changed[contact_id] = {**item, EXPANDED: old[EXPANDED]}
            else:
                stale.append(contact_id)
        for group in chunks(stale, MAX_BATCH_REQUESTS):
            for contact_id, expanded in self._read_expanded(list(group)).items():
                if expanded is None:  # gone since the round: the next round says so too
                    changes.changed.pop(contact_id, None)
                    changes.removed.add(contact_id)
                else:
                    changes.changed[contact_id] = {
                        **changes.changed[contact_id],
                        EXPANDED: expanded,
                    }

    def _read_expanded(self, ids: list[str]) -> dict[str, Any]:
        """Each contact's expanded properties (None: no longer there), one `$batch` of GETs.

        Raises:
            GraphError: the batch, or one of its GETs, failed (the plan stops: a contact
                without its properties would be planned wrongly).
        """
        query = build_query({"$select": "id", "$expand": self._expand or ""})
        requests = [
            BatchRequest(str(n), "GET", f"{self._path}/{graph_id(contact_id)}?{query}")
            for n, contact_id in enumerate(ids)
        ]
        what = "the contacts' extended properties"
        body = self._client.call(
            "POST",
            self._client.url("/$batch"),
            json=build_batch(requests, chained=False),
            replayable=True,  # GETs only: sending them again changes nothing
            what=what,
        )
        replies = parse_batch_response(body)
        found: dict[str, Any] = {}
        for n, contact_id in enumerate(ids):
            reply = replies.get(str(n))
            if reply is None:
                raise GraphError(f"Office 365 did not answer every read of {what}; plan again.")
            answer = classify(reply.status, reply.body, reply.headers, what=what)
            if answer.verdict is Verdict.SUCCESS and isinstance(answer.body, Mapping):
                found[contact_id] = answer.body.get(EXPANDED, [])
            elif isinstance(answer.error, NotFound):
                found[contact_id] = None
            else:
                raise answer.error or GraphError(f"Office 365 did not return {what}; plan again.")
        return found
