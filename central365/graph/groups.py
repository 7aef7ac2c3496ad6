"""A group's mailboxes: Graph's `groups/{id}/transitiveMembers`, users only, every page.

`GET /groups/{id}/transitiveMembers` lists the group's members, nested groups flattened
(https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers); with an app-only
token it needs the application permission `GroupMember.Read.All` (or a higher one:
`Group.Read.All`, `Directory.Read.All`).  Members are directory objects of several kinds —
users, groups, devices, service principals, contacts — told apart by `@odata.type`; only
users have mailboxes, so only users are kept.  A user's mailbox is addressed by its
`userPrincipalName` (`/users/{UPN}`), which is also what people read in the results.

Paging and retries are the `GraphClient`'s (`pages`: every `@odata.nextLink` as given); errors
are translated by `graph.errors`, then said again here in a group's words (which permission,
which group).  Must not: open clients or read settings (`wiring.open` does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from central365.core.errors import AuthFailed, NotFound
from central365.graph.client import GraphClient
from central365.graph.errors import is_permission_refused

#: The largest page the directory serves for member lists.
MEMBERS_PAGE_SIZE = 999
USER_TYPE = "#microsoft.graph.user"


@dataclass(frozen=True, slots=True)
class GroupUser:
    """A user among a group's (transitive) members."""

    id: str
    user_principal_name: str
    mail: str | None = None


def _user(item: Mapping[str, Any]) -> GroupUser | None:
    if str(item.get("@odata.type", "")).casefold() != USER_TYPE.casefold():
        return None
    upn, oid, mail = item.get("userPrincipalName"), item.get("id"), item.get("mail")
    if not isinstance(oid, str) or not oid:
        return None
    return GroupUser(
        oid, upn if isinstance(upn, str) and upn else oid, mail if isinstance(mail, str) else None
    )


def group_users(client: GraphClient, group_id: str) -> list[GroupUser]:
    """The users among the group's transitive members, each once, in the order Graph gives.

    Raises:
        AuthFailed: the token may not read the group's members (the message names the
            permission to grant), or was refused.
        NotFound: no group has this id.
        GraphError: any other refusal or failure, after the client's retries.
    """
    url = client.url(
        f"/groups/{quote(group_id.strip(), safe='')}/transitiveMembers",
        {"$select": "id,userPrincipalName,mail", "$top": str(MEMBERS_PAGE_SIZE)},
    )
    users: dict[str, GroupUser] = {}
    try:
        for item in client.pages(url, what="the group's members"):
            user = _user(item)
            if user is not None:
                users.setdefault(user.id.casefold(), user)
    except NotFound as exc:
        raise NotFound(
            f"The group {group_id} was not found in the tenant: check the target's group id "
            "(the group's object id in Entra).",
            status=exc.status,
            code=exc.code,
            request_id=exc.request_id,
        ) from None
    except AuthFailed as exc:
        if not is_permission_refused(exc):
            raise
        raise AuthFailed(
            f"Office 365 denied reading the members of the group {group_id}: grant the app "
            "the application permission GroupMember.Read.All (with admin consent).",
            status=exc.status,
            code=exc.code,
            request_id=exc.request_id,
        ) from None
    return list(users.values())
