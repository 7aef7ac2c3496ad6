"""The store's contacts: list, get, create, PATCH, DELETE, move, and the delta change log.

A contact has a regular id, which names its folder and so changes when it moves, and an
immutable id that does not (reference §6.1); either one finds it.  PATCH follows reference
§1.3; displayName follows §1.1 (see `update_contact`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from central365.mailstore import ids, schema
from central365.mailstore.folder_ops import FolderOps, malformed_id
from central365.mailstore.problem import not_found
from central365.mailstore.records import Contact, MailboxState, Tombstone, graph_json

#: Properties Exchange builds a generated displayName from (reference §1.1).
NAME_PARTS = frozenset({"givenName", "middleName", "surname", "title", "generation"})


@dataclass(frozen=True)
class Change:
    """One entry of a delta round: the contact as it is now, or a removal."""

    seq: int
    contact_id: str
    body: dict[str, Any] | None  # None: removed


class ContactOps(FolderOps):
    def list_contacts(self, mailbox: str, folder_id: str | None = None) -> list[dict[str, Any]]:
        """Full Graph bodies of a folder's contacts (default folder when None), oldest first."""
        with self._lock:
            box = self._mailbox(mailbox)
            folder = self._folder(box, folder_id or box.default_folder_id)
            return [graph_json(c) for c in box.contacts.values() if c.folder_id == folder.id]

    def find_contact_ids(
        self,
        mailbox: str,
        folder_id: str | None = None,
        where: Callable[[Mapping[str, Any], Mapping[str, Any]], bool] | None = None,
        order_by: Sequence[tuple[str, bool]] = (),
    ) -> list[str]:
        """Ids of a folder's contacts that `where(props, relationships)` keeps.

        Oldest first, or sorted by `order_by` ((property, descending) pairs; ties oldest first).
        Lists page over ids and render only the page, so reading a 50,000-contact folder in
        pages of 1,000 costs O(n) per page instead of rendering every contact for every page.
        """
        with self._lock:
            box = self._mailbox(mailbox)
            folder = self._folder(box, folder_id or box.default_folder_id)
            found = [
                c
                for c in box.contacts.values()
                if c.folder_id == folder.id and (where is None or where(c.props, c.relationships))
            ]
            for name, descending in reversed(order_by):  # stable sorts, last key first
                found.sort(key=partial(_sort_key, name=name), reverse=descending)
            return [c.id for c in found]

    def get_contact(
        self,
        mailbox: str,
        contact_id: str,
        folder_id: str | None = None,
        *,
        immutable: bool = False,
    ) -> dict[str, Any]:
        with self._lock:
            contact = self._contact(self._mailbox(mailbox), contact_id, folder_id)
            return graph_json(contact, immutable=immutable)

    def create_contact(
        self, mailbox: str, folder_id: str | None, body: Any, *, immutable: bool = False
    ) -> dict[str, Any]:
        """Validate `body` and store a new contact; returns the full Graph body (201)."""
        props_in, relationships = schema.validate_contact_body(body)
        with self._lock:
            box = self._mailbox(mailbox)
            folder = self._folder(box, folder_id or box.default_folder_id)
            box.counter += 1
            box.seq += 1
            now = self._now()
            number = box.counter
            contact_id = ids.regular_id(box.key, "contact", number, folder.id)
            props = schema.blank_properties()
            props.update(props_in)
            sent = "displayName" in props_in
            if not sent:
                props["displayName"] = schema.generated_display_name(props)
            contact = Contact(
                id=contact_id,
                folder_id=folder.id,
                created=now,
                modified=now,
                change_key=ids.change_key(contact_id, 1),
                seq=box.seq,
                version=1,
                props=props,
                relationships=relationships,
                display_name_sent=sent,
                immutable_id=ids.immutable_id(box.key, number),
                number=number,
            )
            box.contacts[contact_id] = contact
            box.immutable[contact.immutable_id] = contact_id
            self._contact_changed(box, contact)
            return graph_json(contact, immutable=immutable)

    def update_contact(
        self,
        mailbox: str,
        contact_id: str,
        body: Any,
        folder_id: str | None = None,
        *,
        immutable: bool = False,
        regenerate_display_name: bool = False,
    ) -> dict[str, Any]:
        """PATCH semantics (reference §1.3); returns the full updated body (200).

        A PATCH that changes a name part (givenName, surname, ...) without `displayName`
        makes Exchange generate the displayName again, even one the client set before
        (reference §1.1: "resend it or Exchange may regenerate it").  With
        `regenerate_display_name` (the `display_name_overwrite` fault) every PATCH without
        `displayName` does, whatever it changes, so a client that forgets the resend is caught.
        """
        props_in, relationships = schema.validate_contact_body(body)
        with self._lock:
            box = self._mailbox(mailbox)
            contact = self._contact(box, contact_id, folder_id)
            names_changed = any(
                contact.props.get(name) != value
                for name, value in props_in.items()
                if name in NAME_PARTS
            )
            contact.props.update(props_in)
            contact.relationships.update(relationships)
            if "displayName" in props_in:
                contact.display_name_sent = True
            elif names_changed or regenerate_display_name or not contact.display_name_sent:
                contact.props["displayName"] = schema.generated_display_name(contact.props)
                contact.display_name_sent = False
            box.seq += 1
            contact.seq = box.seq
            contact.version += 1
            contact.change_key = ids.change_key(contact.id, contact.version)
            contact.modified = self._now()
            self._contact_changed(box, contact)
            return graph_json(contact, immutable=immutable)

    def delete_contact(self, mailbox: str, contact_id: str, folder_id: str | None = None) -> None:
        with self._lock:
            box = self._mailbox(mailbox)
            contact = self._contact(box, contact_id, folder_id)
            del box.contacts[contact.id]
            box.immutable.pop(contact.immutable_id, None)
            box.seq += 1
            tomb = Tombstone(contact.id, contact.folder_id, box.seq, contact.immutable_id)
            box.tombstones.append(tomb)
            self.pending.row("contacts", box.key, contact.id, None)
            self.pending.row("tombstones", box.key, str(tomb.seq), tomb)
            self._touch(box)

    def move_contact(self, mailbox: str, contact_id: str, folder_id: str) -> dict[str, Any]:
        """Move a contact to another folder, as a user dragging it in Outlook would.

        Its regular id changes and its immutable id stays (reference §6.1).  The old folder's
        delta reports a removal of the old id, the new folder's the contact under its new id.
        """
        with self._lock:
            box = self._mailbox(mailbox)
            contact = self._contact(box, contact_id, None)
            target = self._folder(box, folder_id)
            if target.id == contact.folder_id:
                return graph_json(contact)
            del box.contacts[contact.id]
            self.pending.row("contacts", box.key, contact.id, None)
            box.seq += 1
            tomb = Tombstone(contact.id, contact.folder_id, box.seq, contact.immutable_id)
            box.tombstones.append(tomb)
            self.pending.row("tombstones", box.key, str(tomb.seq), tomb)
            contact.moves += 1
            place = f"{target.id}|{contact.moves}"
            contact.id = ids.regular_id(box.key, "contact", contact.number, place)
            contact.folder_id = target.id
            contact.version += 1
            contact.change_key = ids.change_key(contact.id, contact.version)
            box.seq += 1
            contact.seq = box.seq
            box.contacts[contact.id] = contact
            box.immutable[contact.immutable_id] = contact.id
            self._contact_changed(box, contact)
            return graph_json(contact)

    def translate_ids(self, mailbox: str, input_ids: list[str], to_immutable: bool) -> list[str]:
        """The other form of each id (regular <-> immutable); unknown ids map to ""."""
        with self._lock:
            box = self._mailbox(mailbox)
            out: list[str] = []
            for item_id in input_ids:
                regular = box.immutable.get(item_id, item_id)
                contact = box.contacts.get(regular)
                if contact is None:
                    out.append("")
                else:
                    out.append(contact.immutable_id if to_immutable else contact.id)
            return out

    def relationships(self, mailbox: str, contact_id: str) -> dict[str, Any]:
        """The write-only relationships stored with a contact (extended properties, ...)."""
        with self._lock:
            contact = self._contact(self._mailbox(mailbox), contact_id, None)
            copied: dict[str, Any] = json.loads(json.dumps(contact.relationships))
            return copied

    def _contact_changed(self, box: MailboxState, contact: Contact) -> None:
        self.pending.row("contacts", box.key, contact.id, contact)
        self._touch(box)

    def _contact(self, box: MailboxState, contact_id: str, folder_id: str | None) -> Contact:
        """Find a contact by regular or immutable id; with `folder_id`, only inside that folder.

        The flat `{u}/contacts/{id}` path (folder_id None) reaches any contact of the mailbox,
        which is what `contact-get.md` describes (reference §2.2).  Ids are case-sensitive
        (reference §6.1).
        """
        if folder_id is not None:
            self._folder(box, folder_id)
        contact = box.contacts.get(box.immutable.get(contact_id, contact_id))
        if contact is None:
            if ids.looks_malformed(contact_id):
                raise malformed_id()
            raise not_found()
        if folder_id is not None and contact.folder_id != folder_id:
            raise not_found()
        return contact

    # -- delta -------------------------------------------------------------------------------

    def current_seq(self, mailbox: str) -> int:
        with self._lock:
            return self._mailbox(mailbox).seq

    def changes(
        self,
        mailbox: str,
        folder_id: str,
        after: int,
        upto: int,
        *,
        initial: bool,
        immutable: bool = False,
        limit: int | None = None,
    ) -> list[Change]:
        """What changed in a folder with `after < seq <= upto`, oldest change first.

        An initial round (`initial`) lists the contacts present now and no removals: items
        created and deleted before the first call are never reported (reference §2.4).
        `limit` renders only the first `limit` changes (a page; one more says "more follow"),
        so paging through a 50,000-contact round costs O(n) per page, not O(n) renders.
        """
        with self._lock:
            box = self._mailbox(mailbox)
            folder = self._folder(box, folder_id)
            found: list[tuple[int, Contact | Tombstone]] = [
                (c.seq, c)
                for c in box.contacts.values()
                if c.folder_id == folder.id and after < c.seq <= upto
            ]
            if not initial:
                found += [
                    (t.seq, t)
                    for t in box.tombstones
                    if t.folder_id == folder.id and after < t.seq <= upto
                ]
            found.sort(key=lambda pair: pair[0])
            if limit is not None:
                found = found[: limit + 1]
            return [_change(item, immutable) for _, item in found]

    def expire_delta_tokens(self, mailbox: str) -> None:
        """Refuse every delta token issued so far for the mailbox (the admin API's expiry)."""
        with self._lock:
            self._mailbox(mailbox).delta_epoch += 1

    def delta_epoch(self, mailbox: str) -> int:
        """Tokens carry this; an older one has expired (`expire_delta_tokens`)."""
        with self._lock:
            return self._mailbox(mailbox).delta_epoch


def _change(item: Contact | Tombstone, immutable: bool) -> Change:
    if isinstance(item, Contact):
        return Change(
            item.seq,
            item.immutable_id if immutable else item.id,
            graph_json(item, immutable=immutable),
        )
    contact_id = item.immutable_id if immutable and item.immutable_id else item.id
    return Change(item.seq, contact_id, None)


def _sort_key(contact: Contact, name: str) -> tuple[bool, str]:
    """Text compares case-insensitively; an unset value sorts first (unsourced choice)."""
    if name == "createdDateTime":
        value: Any = contact.created
    elif name == "lastModifiedDateTime":
        value = contact.modified
    else:
        value = contact.props.get(name)
    return (value is not None and value != "", str(value or "").casefold())
