"""contactFolders: list (with `$filter=displayName eq '...'`), get, create, childFolders,
rename (PATCH) and DELETE.

Reference §2.1: folder objects are `{id, displayName, parentFolderId}`; `GET {u}/contactFolders`
lists the folders inside the default Contacts folder, not the default folder itself; creating a
folder answers 201.  A second folder of the same name under one parent is 409
`ErrorFolderExists` (see `SandboxStore.create_folder`).  PATCH answers 200 with the folder,
DELETE 204 (`contactfolder-update.md`, `contactfolder-delete.md`; issue 10 item 8).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from central365.mailstore.problem import bad_request
from central365.mailstore.store import SandboxStore
from central365.sandbox import odata
from central365.sandbox.messages import GraphRequest, GraphResponse, json_response
from central365.sandbox.paging import page_of
from central365.sandbox.routes_contacts import user_context

_FOLDER_PROPERTIES = ("id", "displayName", "parentFolderId")
_LIST_OPTIONS = {"$filter", "$top", "$skip", "$select", "$count"}


def _context(req: GraphRequest, store: SandboxStore, mailbox: str, suffix: str) -> str:
    return f"{user_context(req, store, mailbox)}/contactFolders{suffix}"


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
    body: dict[str, Any] = {"@odata.context": _context(req, store, mailbox, "")}
    body.update(extra)
    body["value"] = [_project(f, select) for f in items]
    return json_response(200, body)


def get_folder(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str
) -> GraphResponse:
    odata.check_options(req.query, {"$select"})
    folder = store.get_folder(mailbox, folder_id)
    select = _select(odata.option(req.query, "$select"))
    body = {"@odata.context": _context(req, store, mailbox, "/$entity"), **_project(folder, select)}
    return json_response(200, body)


def _folder_body(req: GraphRequest, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    payload = req.json()
    if not isinstance(payload, Mapping):
        raise bad_request("The request body must be a contactFolder object.", "RequestBodyRead")
    for key in payload:
        if key not in allowed and not key.startswith("@odata."):
            raise bad_request(
                f"The property '{key}' does not exist on type 'microsoft.graph.contactFolder'.",
                code="RequestBodyRead",
            )
    return payload


def _name(payload: Mapping[str, Any]) -> str:
    name = payload.get("displayName")
    if not isinstance(name, str):
        raise bad_request("The folder's displayName must be a string.", "ErrorInvalidArgument")
    return name


def create_folder(
    store: SandboxStore, req: GraphRequest, mailbox: str, parent_id: str | None
) -> GraphResponse:
    # The docs' sample also sends parentFolderId; the URL decides the parent.
    payload = _folder_body(req, ("displayName", "parentFolderId"))
    folder = store.create_folder(mailbox, _name(payload), parent_id)
    context = _context(req, store, mailbox, "/$entity")
    return json_response(201, {"@odata.context": context, **folder})


def rename_folder(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str
) -> GraphResponse:
    payload = _folder_body(req, ("displayName", "parentFolderId"))
    if payload.get("parentFolderId", None) not in (
        None,
        store.get_folder(mailbox, folder_id)["parentFolderId"],
    ):
        raise bad_request("Moving a folder by PATCH is not modelled by the sandbox.")
    folder = store.rename_folder(mailbox, folder_id, _name(payload))
    context = _context(req, store, mailbox, "/$entity")
    return json_response(200, {"@odata.context": context, **folder})


def delete_folder(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str
) -> GraphResponse:
    odata.check_options(req.query, set())
    store.delete_folder(mailbox, folder_id)
    return GraphResponse(204)
