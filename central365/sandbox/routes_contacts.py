"""Contacts of a folder (or of the default folder): list, get, create, PATCH, DELETE.

Reference §2.2 and §1.3/§1.4: create answers 201 with the full contact, PATCH 200 with the full
contact, DELETE 204 without a body.  Lists take `$select` (id always returned), `$top`, `$skip`,
`$count`, `$filter` (email `any`, or the extended-property `any` of §2.5) and `$expand` of
single-value extended properties; pages link on with an absolute `@odata.nextLink`.
Delta lives in `routes_delta`.
"""

from __future__ import annotations

from typing import Any

from central365.sandbox import odata
from central365.sandbox.messages import GraphRequest, GraphResponse, json_response
from central365.sandbox.paging import page_of
from central365.sandbox.schema import project
from central365.sandbox.store import SandboxStore

_LIST_OPTIONS = {"$select", "$top", "$skip", "$filter", "$count", "$expand"}
_GET_OPTIONS = {"$select", "$expand"}


def _collection_context(
    req: GraphRequest, mailbox: str, folder_id: str | None, select: tuple[str, ...] | None
) -> str:
    where = f"/contactFolders('{folder_id}')/contacts" if folder_id else "/contacts"
    selected = f"({','.join(select)})" if select else ""
    return f"{req.api_root}/$metadata#users('{mailbox}'){where}{selected}"


def _entity_context(req: GraphRequest, mailbox: str) -> str:
    return f"{req.api_root}/$metadata#users('{mailbox}')/contacts/$entity"


def _shape(
    store: SandboxStore,
    mailbox: str,
    body: dict[str, Any],
    select: tuple[str, ...] | None,
    expand: odata.Expand | None,
) -> dict[str, Any]:
    shaped = project(body, select)
    if expand is not None:
        relationships = store.relationships(mailbox, body["id"])
        shaped["singleValueExtendedProperties"] = odata.expanded_properties(expand, relationships)
    return shaped


def list_contacts(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str | None
) -> GraphResponse:
    odata.check_options(req.query, _LIST_OPTIONS)
    select = odata.parse_select(odata.option(req.query, "$select"))
    where = odata.parse_contact_filter(odata.option(req.query, "$filter"))
    expand = odata.parse_expand(odata.option(req.query, "$expand"))
    ids, extra = page_of(req, store.find_contact_ids(mailbox, folder_id, where))
    contacts = [store.get_contact(mailbox, contact_id) for contact_id in ids]
    body: dict[str, Any] = {
        "@odata.context": _collection_context(req, mailbox, folder_id, select),
        **extra,
        "value": [_shape(store, mailbox, c, select, expand) for c in contacts],
    }
    return json_response(200, body)


def get_contact(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str | None, contact_id: str
) -> GraphResponse:
    odata.check_options(req.query, _GET_OPTIONS)
    select = odata.parse_select(odata.option(req.query, "$select"))
    expand = odata.parse_expand(odata.option(req.query, "$expand"))
    contact = store.get_contact(mailbox, contact_id, folder_id)
    body = {
        "@odata.context": _entity_context(req, mailbox),
        **_shape(store, mailbox, contact, select, expand),
    }
    return json_response(200, body)


def create_contact(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str | None
) -> GraphResponse:
    odata.check_options(req.query, set())
    contact = store.create_contact(mailbox, folder_id, req.json())
    return json_response(201, {"@odata.context": _entity_context(req, mailbox), **contact})


def update_contact(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str | None, contact_id: str
) -> GraphResponse:
    odata.check_options(req.query, set())
    contact = store.update_contact(mailbox, contact_id, req.json(), folder_id)
    return json_response(200, {"@odata.context": _entity_context(req, mailbox), **contact})


def delete_contact(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str | None, contact_id: str
) -> GraphResponse:
    odata.check_options(req.query, set())
    store.delete_contact(mailbox, contact_id, folder_id)
    return GraphResponse(204)
