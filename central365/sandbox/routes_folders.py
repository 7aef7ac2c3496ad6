"""contactFolders: list (with `$filter=displayName eq '...'`), get, create, childFolders.

Reference §2.1: folder objects are `{id, displayName, parentFolderId}`; `GET {u}/contactFolders`
lists the folders inside the default Contacts folder, not the default folder itself; creating a
folder answers 201.  A second folder of the same name under one parent is 409
`ErrorFolderExists` (see `SandboxStore.create_folder`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from central365.sandbox import odata
from central365.sandbox.messages import GraphRequest, GraphResponse, json_response
from central365.sandbox.paging import page_of
from central365.sandbox.problem import bad_request
from central365.sandbox.store import SandboxStore

_FOLDER_PROPERTIES = ("id", "displayName", "parentFolderId")
_LIST_OPTIONS = {"$filter", "$top", "$skip", "$select", "$count"}


def _context(req: GraphRequest, mailbox: str, suffix: str) -> str:
    return f"{req.api_root}/$metadata#users('{mailbox}')/contactFolders{suffix}"


def _select(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    for name in names:
        if name not in _FOLDER_PROPERTIES:
            raise bad_request(
                f"Could not find a property named '{name}' on type "
                "'microsoft.graph.contactFolder'.",
                code="RequestBroker--ParseUri",
            )
    return names


def _project(folder: Mapping[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    if select is None:
        return dict(folder)
    return {k: v for k, v in folder.items() if k == "id" or k in select}


def list_folders(
    store: SandboxStore, req: GraphRequest, mailbox: str, parent_id: str | None
) -> GraphResponse:
    odata.check_options(req.query, _LIST_OPTIONS)
    wanted = odata.parse_folder_filter(odata.option(req.query, "$filter"))
    select = _select(odata.option(req.query, "$select"))
    folders = store.list_folders(mailbox, parent_id)
    if wanted is not None:
        # Exchange compares folder names case-insensitively.
        folders = [f for f in folders if f["displayName"].casefold() == wanted.casefold()]
    items, extra = page_of(req, folders)
    body: dict[str, Any] = {"@odata.context": _context(req, mailbox, "")}
    body.update(extra)
    body["value"] = [_project(f, select) for f in items]
    return json_response(200, body)


def get_folder(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str
) -> GraphResponse:
    odata.check_options(req.query, {"$select"})
    folder = store.get_folder(mailbox, folder_id)
    select = _select(odata.option(req.query, "$select"))
    body = {"@odata.context": _context(req, mailbox, "/$entity"), **_project(folder, select)}
    return json_response(200, body)


def create_folder(
    store: SandboxStore, req: GraphRequest, mailbox: str, parent_id: str | None
) -> GraphResponse:
    payload = req.json()
    if not isinstance(payload, Mapping):
        raise bad_request("The request body must be a contactFolder object.", "RequestBodyRead")
    for key in payload:
        # The docs' sample also sends parentFolderId; the URL decides the parent.
        if key not in ("displayName", "parentFolderId") and not key.startswith("@odata."):
            raise bad_request(
                f"The property '{key}' does not exist on type 'microsoft.graph.contactFolder'.",
                code="RequestBodyRead",
            )
    name = payload.get("displayName")
    if not isinstance(name, str):
        raise bad_request("The folder's displayName must be a string.", "ErrorInvalidArgument")
    folder = store.create_folder(mailbox, name, parent_id)
    return json_response(201, {"@odata.context": _context(req, mailbox, "/$entity"), **folder})
