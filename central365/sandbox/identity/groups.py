"""The sandbox directory's groups: who is in them, nested groups flattened as Entra does.

A `DirectoryGroup` lists its members by a user's username (UPN) or object id, or by another
group's id (a nested group).  `transitive_members` walks the nesting once per group (a cycle
ends the walk rather than looping) and gives every nested group and every user, each once —
what Graph's `groups/{id}/transitiveMembers` answers.  Every user of the directory has a
mailbox in the sandbox, so a group of users is a set of mailboxes.

Must not: know HTTP or tokens (`sandbox.routes_groups` serves this over Graph's paths).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: Namespace of derived group ids (stable across runs, so a demo's settings file keeps working).
_GROUP_NAMESPACE = uuid.UUID("0b6f2a8e-3c1d-4e5f-9a7b-2c4d6e8f0a1b")


def derived_group_id(display_name: str) -> str:
    """A stable object id for a group named `display_name`."""
    return str(uuid.uuid5(_GROUP_NAMESPACE, display_name.casefold()))


@dataclass(frozen=True)
class DirectoryGroup:
    """A security or Microsoft 365 group: its name, object id and direct members."""

    display_name: str
    members: tuple[str, ...] = ()
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", derived_group_id(self.display_name))


#: A user as the group walk sees it: the user's key (UPN or object id) → their UPN, or None.
UserLookup = Callable[[str], str | None]


def group_problems(groups: Iterable[DirectoryGroup], user: UserLookup) -> list[str]:
    """Every member must be a known user or group; ids must be GUIDs and not repeat."""
    groups = tuple(groups)
    ids = {g.id.casefold() for g in groups}
    problems: list[str] = []
    seen: set[str] = set()
    for group in groups:
        try:
            uuid.UUID(group.id)
        except ValueError:
            problems.append(f"group {group.display_name!r}: id {group.id!r} is not a GUID")
        if group.id.casefold() in seen:
            problems.append(f"group id {group.id!r} is repeated")
        seen.add(group.id.casefold())
        problems += [
            f"group {group.display_name!r} has the member {member!r}, neither a user nor a group"
            for member in group.members
            if member.casefold() not in ids and user(member) is None
        ]
    return problems


def transitive_members(
    groups: Iterable[DirectoryGroup], group_id: str, user: UserLookup
) -> tuple[list[DirectoryGroup], list[str]] | None:
    """(nested groups, users' UPNs) of the group, each once in walk order; None: no such group."""
    by_id = {g.id.casefold(): g for g in groups}
    start = by_id.get(group_id.casefold())
    if start is None:
        return None
    nested: list[DirectoryGroup] = []
    users: list[str] = []
    visited = {start.id.casefold()}
    pending = [start]
    while pending:
        group = pending.pop(0)
        for member in group.members:
            inner = by_id.get(member.casefold())
            if inner is not None:
                if inner.id.casefold() not in visited:
                    visited.add(inner.id.casefold())
                    nested.append(inner)
                    pending.append(inner)
                continue
            upn = user(member)
            if upn is not None and upn not in users:
                users.append(upn)
    return nested, users
