"""Contacts of a folder (or of the default folder): list, get, create, PATCH, DELETE.

Reference §2.2 and §1.3/§1.4: create answers 201 with the full contact, PATCH 200 with the full
contact, DELETE 204 without a body.  Lists take `$select` (id always returned), `$top`, `$skip`,
`$count`, `$filter` (email `any`, or the extended-property `any` of §2.5), `$orderby` (issue 10
item 7) and `$expand` of single-value extended properties; pages link on with an absolute
`@odata.nextLink`.  Under `Prefer: IdType="ImmutableId"` every id in the answer is the
immutable one (reference §6.1).  `@odata.context` names the user by object id, as Graph does
(issue 10 item 10).  Delta lives in `routes_delta`.
"""

from __future__ import annotations

from typing import Any

from central365.mailstore.schema import project
from central365.mailstore.store import SandboxStore
from central365.sandbox import odata
from central365.sandbox.messages import GraphRequest, GraphResponse, json_response
from central365.sandbox.paging import page_of

_LIST_OPTIONS = {"$select", "$top", "$skip", "$filter", "$count", "$expand", "$orderby"}
_GET_OPTIONS = {"$select", "$expand"}


def user_context(req: GraphRequest, store: SandboxStore, mailbox: str) -> str:
    """`{api}/$metadata#users('{user object id}')`, the start of every `@odata.context`."""
    return f"{req.api_root}/$metadata#users('{store.mailbox_user_id(mailbox)}')"


def _collection_context(
    req: GraphRequest,
    store: SandboxStore,
    mailbox: str,
    folder_id: str | None,
    select: tuple[str, ...] | None,
) -> str:
    where = f"/contactFolders('{folder_id}')/contacts" if folder_id else "/contacts"
    selected = f"({','.join(select)})" if select else ""
    return f"{user_context(req, store, mailbox)}{where}{selected}"


def _entity_context(req: GraphRequest, store: SandboxStore, mailbox: str) -> str:
    return f"{user_context(req, store, mailbox)}/contacts/$entity"


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
    order = odata.parse_orderby(odata.option(req.query, "$orderby")) or ()
    immutable = odata.wants_immutable_ids(req.headers)
    ids, extra = page_of(req, store.find_contact_ids(mailbox, folder_id, where, order))
    contacts = [store.get_contact(mailbox, i, immutable=immutable) for i in ids]
    body: dict[str, Any] = {
        "@odata.context": _collection_context(req, store, mailbox, folder_id, select),
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
    immutable = odata.wants_immutable_ids(req.headers)
    contact = store.get_contact(mailbox, contact_id, folder_id, immutable=immutable)
    body = {
        "@odata.context": _entity_context(req, store, mailbox),
        **_shape(store, mailbox, contact, select, expand),
    }
    return json_response(200, body)


def create_contact(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str | None
) -> GraphResponse:
    odata.check_options(req.query, set())
    immutable = odata.wants_immutable_ids(req.headers)
    contact = store.create_contact(mailbox, folder_id, req.json(), immutable=immutable)
    return json_response(201, {"@odata.context": _entity_context(req, store, mailbox), **contact})


def update_contact(
    store: SandboxStore,
    req: GraphRequest,
    mailbox: str,
    folder_id: str | None,
    contact_id: str,
    *,
    regenerate_display_name: bool = False,
) -> GraphResponse:
    odata.check_options(req.query, set())
    contact = store.update_contact(
        mailbox,
        contact_id,
        req.json(),
        folder_id,
        immutable=odata.wants_immutable_ids(req.headers),
        regenerate_display_name=regenerate_display_name,
    )
    return json_response(200, {"@odata.context": _entity_context(req, store, mailbox), **contact})


def delete_contact(
    store: SandboxStore, req: GraphRequest, mailbox: str, folder_id: str | None, contact_id: str
) -> GraphResponse:
    odata.check_options(req.query, set())
    store.delete_contact(mailbox, contact_id, folder_id)
    return GraphResponse(204)
