"""Graph's `GET /groups/{id}/transitiveMembers[/microsoft.graph.user]` over the sandbox directory.

As Graph answers (https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers):
nested groups are flattened, the nested groups themselves are listed too, each member carries
its `@odata.type`, pages follow `$top` with an absolute `@odata.nextLink`, and the cast segment
`microsoft.graph.user` keeps users only.  A token that names a caller must hold one of the
permissions that read group members (`GroupMember.Read.All` and the higher ones), else 403
`Authorization_RequestDenied`; an unknown group is 404 `Request_ResourceNotFound`.  An opaque
token (the `sandbox` sign-in mode) is not checked, as for the contacts API.
"""

from __future__ import annotations

from typing import Any

from central365.mailstore.problem import GraphProblem
from central365.sandbox.identity.graph_access import GraphPrincipal
from central365.sandbox.identity.groups import transitive_members
from central365.sandbox.identity.registry import IdentityConfig
from central365.sandbox.messages import GraphRequest, GraphResponse, json_response
from central365.sandbox.paging import page_of

#: Permissions (delegated `scp` or application `roles`) that may list a group's members.
MEMBER_READERS = frozenset(
    p.casefold()
    for p in (
        "GroupMember.Read.All",
        "GroupMember.ReadWrite.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    )
)
_USER_CAST = frozenset({"microsoft.graph.user"})


def is_groups_path(segments: tuple[str, ...]) -> bool:
    return bool(segments) and segments[0].casefold() == "groups"


def handle_groups(
    config: IdentityConfig, principal: GraphPrincipal | None, req: GraphRequest
) -> GraphResponse:
    """Answer a `groups/...` request, or raise its `GraphProblem` (400, 403, 404, 405)."""
    rest = req.segments[1:]
    if len(rest) < 2 or rest[1].casefold() != "transitivemembers" or len(rest) > 3:
        raise GraphProblem(
            400, "BadRequest", "The sandbox serves groups/{id}/transitiveMembers only."
        )
    users_only = len(rest) == 3
    if users_only and rest[2].casefold() not in _USER_CAST:
        raise GraphProblem(
            400, "Request_UnsupportedQuery", "The sandbox casts members to microsoft.graph.user."
        )
    if req.method != "GET":
        raise GraphProblem(405, "Request_BadRequest", "Only GET lists a group's members.")
    if principal is not None and not principal.permissions & MEMBER_READERS:
        raise GraphProblem(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    found = transitive_members(config.groups, rest[0], config.username_of)
    if found is None:
        raise GraphProblem(
            404,
            "Request_ResourceNotFound",
            f"Resource '{rest[0]}' does not exist or one of its queried reference-property "
            "objects are not present.",
        )
    nested, upns = found
    items: list[dict[str, Any]] = (
        [] if users_only else [_group_json(g.id, g.display_name) for g in nested]
    )
    for upn in upns:
        user = config.user(upn)
        if user is not None:
            items.append(_user_json(user.oid, user.username, user.name))
    page, extra = page_of(req, items)
    body = {"@odata.context": f"{req.api_root}/$metadata#directoryObjects", "value": page, **extra}
    return json_response(200, body)


def _group_json(oid: str, name: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.group", "id": oid, "displayName": name}


def _user_json(oid: str, upn: str, name: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.user",
        "id": oid,
        "displayName": name,
        "userPrincipalName": upn,
        "mail": upn,
    }
