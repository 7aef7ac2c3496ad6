"""The rule for finding the configured folder by its display name, shared by every `Mailbox`.

Outlook lets two folders share a name (peers broke on it: see shared/reference/peers.md,
RG #107, JE #3); picking one at random would split the contacts between them, so two matches
are an error that names both.
"""

from __future__ import annotations

from collections.abc import Sequence

from central365.core.errors import Conflict
from central365.core.model import FolderInfo


def only_folder(display_name: str, matches: Sequence[FolderInfo]) -> FolderInfo | None:
    """The one folder called `display_name`, None when there is none; `Conflict` for several."""
    if len(matches) > 1:
        ids = ", ".join(m.id for m in matches)
        raise Conflict(
            f"The mailbox has {len(matches)} contacts folders named {display_name!r} "
            f"(ids {ids}): rename or remove all but one in Outlook, or choose another folder name."
        )
    return matches[0] if matches else None
