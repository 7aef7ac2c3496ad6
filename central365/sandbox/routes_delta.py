"""Delta queries: one folder's contacts (`GET {u}/contactFolders/{fid}/contacts/delta`, also
in the function-call form `.../delta()` msgraph-sdk sends) and the mailbox's contact folders
(`GET {u}/contactFolders/delta`, issue 10 items 6 and 8).

Reference §2.4.  A round follows `@odata.nextLink`s (`$skiptoken`) until a page carries an
`@odata.deltaLink` (`$deltatoken`); the next round starts from that link and returns the
contacts changed since, plus `{"id", "@removed": {"reason": "deleted"}}` for deleted ones.
`$select` is accepted only on the first call and travels inside the tokens.  Ids follow
`Prefer: IdType="ImmutableId"` on each call (reference §6.1: delta works with both forms).

Tokens are url-safe base64 of a small JSON document: opaque to clients, readable in a
debugger.  Each carries the mailbox's token epoch: after `POST /_sandbox/delta/expire` every
older token answers `410 Gone` with `syncStateNotFound`, as Graph does when its sync state
expired (delta-query-overview "synchronization reset"), and the client starts a full round.
Only `$select` is taken: the contact delta page documents no `$expand` (the messages page
does), and a delta with `$expand=singleValueExtendedProperties(...)` was seen to fail
(mgdc#7929), so the sandbox refuses it like any undocumented option.  A round is pinned to the store's change sequence at its first page, so writes made
while a client pages through a round show up in the next round rather than shifting pages.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from central365.mailstore.problem import GraphProblem
from central365.mailstore.schema import project
from central365.mailstore.store import SandboxStore
from central365.sandbox import odata
from central365.sandbox.messages import GraphRequest, GraphResponse, json_response
from central365.sandbox.paging import page_size

_FIRST_CALL_OPTIONS = {"$select"}
_FOLLOW_OPTIONS = {"$skiptoken", "$deltatoken"}


def _encode(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def _decode(token: str, folder_id: str, epoch: int = 0) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        valid = isinstance(state, dict) and state.get("f") == folder_id
    except ValueError:
        valid = False
    if not valid:
        # Graph's generic answer to a token it no longer (or never) knew (reference §2.4).
        raise GraphProblem(400, "syncStateNotFound", "The sync state is invalid or has expired.")
    if state.get("e", 0) != epoch:
        raise GraphProblem(410, "syncStateNotFound", "The sync state has expired.")
    return dict(state)


def contacts_delta(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str
) -> GraphResponse:
    skiptoken = odata.option(req.query, "$skiptoken")
    deltatoken = odata.option(req.query, "$deltatoken")
    epoch = store.delta_epoch(mailbox)
    if skiptoken is None and deltatoken is None:
        odata.check_options(req.query, _FIRST_CALL_OPTIONS)
        select = odata.parse_select(odata.option(req.query, "$select"))
        state: dict[str, Any] = {
            "f": folder_id,
            "e": epoch,
            "s": list(select) if select is not None else None,
            "a": 0,
            "u": store.current_seq(mailbox),
            "c": 0,
            "i": True,
        }
    else:
        # Options on later calls are ignored by Graph: they live in the token.
        odata.check_options(
            {k: v for k, v in req.query.items() if k.lower() in _FOLLOW_OPTIONS}, _FOLLOW_OPTIONS
        )
        state = _decode(skiptoken or deltatoken or "", folder_id, epoch)
        if deltatoken is not None:  # a new round: everything after the last one's end
            upto = store.current_seq(mailbox)
            state = {**state, "a": state["u"], "u": upto, "c": state["u"], "i": False}
    immutable = odata.wants_immutable_ids(req.headers)
    size = page_size(req)
    changes = store.changes(
        mailbox,
        folder_id,
        state["c"],
        state["u"],
        initial=state["i"],
        immutable=immutable,
        limit=size,
    )
    page, more = changes[:size], len(changes) > size
    select = tuple(state["s"]) if state["s"] is not None else None
    values: list[dict[str, Any]] = []
    for change in page:
        if change.body is None:
            values.append({"id": change.contact_id, "@removed": {"reason": "deleted"}})
        else:
            values.append(project(change.body, select))
    link_path = req.path
    body: dict[str, Any] = {"@odata.context": f"{req.api_root}/$metadata#Collection(contact)"}
    if more:
        token = _encode({**state, "c": page[-1].seq})
        body["@odata.nextLink"] = odata.build_url(req.api_root, link_path, {"$skiptoken": token})
    else:
        token = _encode({**state, "c": state["u"]})
        body["@odata.deltaLink"] = odata.build_url(req.api_root, link_path, {"$deltatoken": token})
    body["value"] = values
    return json_response(200, body)


#: The token's folder marker for `contactFolders/delta` (not a folder id).
_FOLDERS = "contactFolders"


def _folder_select(value: str | None) -> list[str] | None:
    """`$select` on `contactFolders/delta` (`contactfolder-delta.md`; `id` always comes)."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    for name in names:
        if name not in ("id", "displayName", "parentFolderId"):
            raise GraphProblem(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type "
                "'microsoft.graph.contactFolder'.",
            )
    return names


def folders_delta(store: SandboxStore, req: GraphRequest, mailbox: str) -> GraphResponse:
    """`contactFolders/delta`: every folder (the default one too), then changes and removals.

    A mailbox holds few folders, so each round is one page ending in the `@odata.deltaLink`
    (a simplification: Graph may page folder rounds too).
    """
    deltatoken = odata.option(req.query, "$deltatoken")
    if deltatoken is None:
        odata.check_options(req.query, {"$select"})
        select = _folder_select(odata.option(req.query, "$select"))
        after, initial = 0, True
    else:
        state = _decode(deltatoken, _FOLDERS)
        after, initial, select = int(state["u"]), False, state.get("s")
    upto = store.current_seq(mailbox)
    changes = store.folder_changes(mailbox, after, upto, initial=initial)
    values = [
        {k: v for k, v in body.items() if select is None or k == "id" or k in select}
        if body is not None
        else {"id": fid, "@removed": {"reason": "deleted"}}
        for _, fid, body in changes
    ]
    token = _encode({"f": _FOLDERS, "u": upto, "s": select})
    return json_response(
        200,
        {
            "@odata.context": f"{req.api_root}/$metadata#Collection(contactFolder)",
            "@odata.deltaLink": odata.build_url(req.api_root, req.path, {"$deltatoken": token}),
            "value": values,
        },
    )
