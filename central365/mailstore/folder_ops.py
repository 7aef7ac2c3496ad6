"""The store's contact folders: list, get, create, rename, delete, and their change log.

Folder ids are containers' ids, which Exchange keeps stable (reference §6.1: containers have
no separate immutable ids).  Deleting a folder deletes its contacts and child folders, and
both show up as removals in the next delta round (issue 10 item 8).
"""

from __future__ import annotations

from typing import Any

from central365.mailstore import ids
from central365.mailstore.problem import GraphProblem, not_found
from central365.mailstore.records import Folder, FolderTombstone, MailboxState, Tombstone
from central365.mailstore.store_base import StoreBase


def malformed_id() -> GraphProblem:
    """Exchange's answer to an id it cannot decode (issue 10 item 5)."""
    return GraphProblem(400, "ErrorInvalidIdMalformed", "Id is malformed.")


class FolderOps(StoreBase):
    def default_folder(self, mailbox: str) -> dict[str, Any]:
        with self._lock:
            box = self._mailbox(mailbox)
            return box.folders[box.default_folder_id].to_graph()

    def list_folders(self, mailbox: str, parent_id: str | None = None) -> list[dict[str, Any]]:
        """Child folders of `parent_id`; None means the default Contacts folder.

        Like Graph's `GET {u}/contactFolders` (reference §2.1), the default folder itself is not
        in that list.
        """
        with self._lock:
            box = self._mailbox(mailbox)
            parent = self._folder(box, parent_id or box.default_folder_id)
            return [f.to_graph() for f in box.folders.values() if f.parent_folder_id == parent.id]

    def all_folders(self, mailbox: str) -> list[dict[str, Any]]:
        """Every user folder at any depth (not the default folder)."""
        with self._lock:
            box = self._mailbox(mailbox)
            return [f.to_graph() for f in box.folders.values() if f.id != box.default_folder_id]

    def get_folder(self, mailbox: str, folder_id: str) -> dict[str, Any]:
        with self._lock:
            return self._folder(self._mailbox(mailbox), folder_id).to_graph()

    def create_folder(
        self,
        mailbox: str,
        display_name: str,
        parent_id: str | None = None,
        *,
        allow_duplicate: bool = False,
    ) -> dict[str, Any]:
        """Create a folder under `parent_id` (default: the Contacts folder).

        Exchange refuses a second folder of the same name under one parent with 409
        `ErrorFolderExists` (seen by corso, alcionai/corso PR #3278).  `allow_duplicate` lets
        tests build the broken mailboxes peers ran into (two folders with one name).
        """
        _check_name(display_name)
        with self._lock:
            box = self._mailbox(mailbox)
            parent = self._folder(box, parent_id or box.default_folder_id)
            if not allow_duplicate:
                _check_unique(box, parent.id, display_name, None)
            box.counter += 1
            folder = Folder(ids.regular_id(box.key, "folder", box.counter), display_name, parent.id)
            box.folders[folder.id] = folder
            self._folder_changed(box, folder)
            return folder.to_graph()

    def rename_folder(self, mailbox: str, folder_id: str, display_name: str) -> dict[str, Any]:
        """PATCH `displayName` (issue 10 item 8); the same name rules as a create."""
        _check_name(display_name)
        with self._lock:
            box = self._mailbox(mailbox)
            folder = self._folder(box, folder_id)
            if folder.id == box.default_folder_id:
                raise _distinguished("renamed")
            _check_unique(box, folder.parent_folder_id, display_name, folder.id)
            folder.display_name = display_name
            self._folder_changed(box, folder)
            return folder.to_graph()

    def delete_folder(self, mailbox: str, folder_id: str) -> None:
        """DELETE a folder with its contacts and child folders (issue 10 item 8)."""
        with self._lock:
            box = self._mailbox(mailbox)
            folder = self._folder(box, folder_id)
            if folder.id == box.default_folder_id:
                raise _distinguished("deleted")
            doomed = [folder.id]
            for current in doomed:  # grows while walking: every descendant
                doomed += [f.id for f in box.folders.values() if f.parent_folder_id == current]
            for contact in [c for c in box.contacts.values() if c.folder_id in doomed]:
                del box.contacts[contact.id]
                box.immutable.pop(contact.immutable_id, None)
                box.seq += 1
                tomb = Tombstone(contact.id, contact.folder_id, box.seq, contact.immutable_id)
                box.tombstones.append(tomb)
                self.pending.row("contacts", box.key, contact.id, None)
                self.pending.row("tombstones", box.key, str(box.seq), tomb)
            for gone_id in doomed:
                gone = box.folders.pop(gone_id)
                box.folder_seqs.pop(gone_id, None)
                box.seq += 1
                record = FolderTombstone(gone.id, gone.parent_folder_id, box.seq)
                box.folder_tombstones.append(record)
                self.pending.row("folders", box.key, gone.id, None)
                self.pending.row("folder_tombstones", box.key, str(box.seq), record)
            self._touch(box)

    def folder_changes(
        self, mailbox: str, after: int, upto: int, *, initial: bool
    ) -> list[tuple[int, str, dict[str, Any] | None]]:
        """Folders changed with `after < seq <= upto` as (seq, id, body or None if deleted).

        Like `contactFolders/delta`, the default folder is included; an initial round lists
        the folders present now and no removals.
        """
        with self._lock:
            box = self._mailbox(mailbox)
            found: list[tuple[int, str, dict[str, Any] | None]] = []
            for fid, folder in box.folders.items():
                seq = box.folder_seqs.get(fid, 0)
                if (seq <= upto) if initial else (after < seq <= upto):
                    found.append((seq, fid, folder.to_graph()))
            if not initial:
                found += [
                    (t.seq, t.id, None) for t in box.folder_tombstones if after < t.seq <= upto
                ]
            return sorted(found, key=lambda change: change[0])

    def _folder_changed(self, box: MailboxState, folder: Folder) -> None:
        box.seq += 1
        box.folder_seqs[folder.id] = box.seq
        self.pending.row("folders", box.key, folder.id, folder)
        self._touch(box)

    def _folder(self, box: MailboxState, folder_id: str) -> Folder:
        folder = box.folders.get(folder_id)
        if folder is None:
            if ids.looks_malformed(folder_id):
                raise malformed_id()
            raise not_found()
        return folder


def _check_name(display_name: str) -> None:
    if not display_name.strip():
        raise GraphProblem(400, "ErrorInvalidArgument", "The folder name cannot be empty.")


def _check_unique(
    box: MailboxState, parent_id: str, display_name: str, self_id: str | None
) -> None:
    clash = any(
        f.parent_folder_id == parent_id
        and f.id != self_id
        and f.display_name.casefold() == display_name.casefold()
        for f in box.folders.values()
    )
    if clash:
        raise GraphProblem(
            409, "ErrorFolderExists", "A folder with the specified name already exists."
        )


def _distinguished(done: str) -> GraphProblem:
    """The default Contacts folder is a distinguished folder: Exchange keeps it (unsourced)."""
    return GraphProblem(
        400, "ErrorDeleteDistinguishedFolder", f"Distinguished folders cannot be {done}."
    )
