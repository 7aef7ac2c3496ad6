"""Route a `GraphRequest` to its handler by path, the same way for top-level and batch calls.

Paths (after `/v1.0`), segment names case-insensitive as in Graph:

    me | users/{id-or-UPN}                      the mailbox (`me` = the signed-in user's)
      /contactFolders                           GET list, POST create
      /contactFolders/delta                     GET folder delta (also `delta()`)
      /contactFolders/{fid}                     GET, PATCH (rename), DELETE
      /contactFolders/{fid}/childFolders        GET list, POST create
      /contactFolders/{fid}/childFolders/{cid}/...   same as /contactFolders/{cid}/... (nested)
      /contactFolders/{fid}/contacts            GET list, POST create
      /contactFolders/{fid}/contacts/delta      GET delta (also `delta()`)
      /contactFolders/{fid}/contacts/{id}       GET, PATCH, DELETE
      /contacts                                 default folder: GET list, POST create
      /contacts/{id}                            any contact of the mailbox: GET, PATCH, DELETE
      /translateExchangeIds                     POST: regular <-> immutable ids

A mailbox that does not exist is 404 `ErrorInvalidUser` (the store decides); an id that is not
even well-formed is 400 `ErrorInvalidIdMalformed` (issue 10 items 4 and 5).
"""

from __future__ import annotations

from central365.mailstore.problem import GraphProblem, bad_request, not_found
from central365.mailstore.store import SandboxStore
from central365.sandbox import routes_contacts, routes_delta, routes_folders, routes_ids
from central365.sandbox.messages import GraphRequest, GraphResponse, problem_response
from central365.sandbox.odata import wants_immutable_ids


def mailbox_of(segments: tuple[str, ...]) -> str | None:
    """The mailbox a path targets (`me` or the decoded id/UPN), or None for other paths."""
    if segments and segments[0].lower() == "me":
        return "me"
    if len(segments) >= 2 and segments[0].lower() == "users" and segments[1]:
        return segments[1]
    return None


def _is_delta(segment: str) -> bool:
    """`delta`, its function-call form `delta()` (what msgraph-sdk sends, issue 10 item 6), or
    the fully qualified `microsoft.graph.delta[()]` the short name stands for."""
    name = segment.lower().removeprefix("microsoft.graph.")
    return name in ("delta", "delta()")


def handle(
    store: SandboxStore, req: GraphRequest, *, regenerate_display_name: bool = False
) -> GraphResponse:
    """Answer one Graph call; errors become Graph error bodies, never exceptions.

    `regenerate_display_name` is the `display_name_overwrite` fault (see
    `SandboxStore.update_contact`).
    """
    try:
        response = _route(store, req, regenerate_display_name)
    except GraphProblem as problem:
        response = problem_response(
            problem,
            request_id=req.request_id,
            client_request_id=req.headers.get("client-request-id"),
        )
    # Immutable ids are answered per request, and the header acknowledged (reference §6.1).
    if wants_immutable_ids(req.headers):
        response.headers["Preference-Applied"] = 'IdType="ImmutableId"'
    return response


def _method_not_allowed(req: GraphRequest) -> GraphProblem:
    return GraphProblem(
        405, "ErrorInvalidRequest", f"The HTTP method '{req.method}' is not allowed here."
    )


def _route(store: SandboxStore, req: GraphRequest, regenerate: bool) -> GraphResponse:
    segments = req.segments
    mailbox = mailbox_of(segments)
    if mailbox is None:
        name = segments[0] if segments else ""
        raise bad_request(f"Resource not found for the segment '{name}'.")
    rest = segments[1:] if mailbox == "me" else segments[2:]
    if mailbox == "me":
        mailbox = store.default_mailbox
    store.mailbox_user_id(mailbox)  # 404 ErrorInvalidUser before anything else
    if not rest:
        raise bad_request("The mailbox itself is not modelled by the central365 sandbox.")
    head = rest[0].lower()
    if head == "contacts":
        return _contacts(store, req, mailbox, None, rest[1:], regenerate)
    if head == "contactfolders":
        return _folders(store, req, mailbox, rest[1:], regenerate)
    if head == "translateexchangeids" and len(rest) == 1:
        if req.method != "POST":
            raise _method_not_allowed(req)
        return routes_ids.translate_exchange_ids(store, req, mailbox)
    raise bad_request(f"Resource not found for the segment '{rest[0]}'.")


def _folders(
    store: SandboxStore, req: GraphRequest, mailbox: str, rest: tuple[str, ...], regenerate: bool
) -> GraphResponse:
    if len(rest) == 1 and _is_delta(rest[0]):
        if req.method != "GET":
            raise _method_not_allowed(req)
        return routes_delta.folders_delta(store, req, mailbox)
    if not rest:
        if req.method == "GET":
            return routes_folders.list_folders(store, req, mailbox, None)
        if req.method == "POST":
            return routes_folders.create_folder(store, req, mailbox, None)
        raise _method_not_allowed(req)
    folder_id = rest[0]
    store.get_folder(mailbox, folder_id)  # 404 for an unknown folder before anything else
    rest = rest[1:]
    # Walk nested childFolders/{id} pairs, checking each child really sits in its parent.
    while len(rest) >= 2 and rest[0].lower() == "childfolders":
        child = store.get_folder(mailbox, rest[1])
        if child["parentFolderId"] != folder_id:
            raise not_found()
        folder_id, rest = rest[1], rest[2:]
    if not rest:
        if req.method == "GET":
            return routes_folders.get_folder(store, req, mailbox, folder_id)
        if req.method == "PATCH":
            return routes_folders.rename_folder(store, req, mailbox, folder_id)
        if req.method == "DELETE":
            return routes_folders.delete_folder(store, req, mailbox, folder_id)
        raise _method_not_allowed(req)
    head = rest[0].lower()
    if head == "childfolders" and len(rest) == 1:
        if req.method == "GET":
            return routes_folders.list_folders(store, req, mailbox, folder_id)
        if req.method == "POST":
            return routes_folders.create_folder(store, req, mailbox, folder_id)
        raise _method_not_allowed(req)
    if head == "contacts":
        if len(rest) == 2 and _is_delta(rest[1]):
            if req.method != "GET":
                raise _method_not_allowed(req)
            return routes_delta.contacts_delta(store, req, mailbox, folder_id)
        return _contacts(store, req, mailbox, folder_id, rest[1:], regenerate)
    raise bad_request(f"Resource not found for the segment '{rest[0]}'.")


def _contacts(
    store: SandboxStore,
    req: GraphRequest,
    mailbox: str,
    folder_id: str | None,
    rest: tuple[str, ...],
    regenerate: bool,
) -> GraphResponse:
    if not rest:
        if req.method == "GET":
            return routes_contacts.list_contacts(store, req, mailbox, folder_id)
        if req.method == "POST":
            return routes_contacts.create_contact(store, req, mailbox, folder_id)
        raise _method_not_allowed(req)
    if len(rest) > 1:
        raise bad_request(f"Resource not found for the segment '{rest[1]}'.")
    contact_id = rest[0]
    if req.method == "GET":
        return routes_contacts.get_contact(store, req, mailbox, folder_id, contact_id)
    if req.method == "PATCH":
        return routes_contacts.update_contact(
            store, req, mailbox, folder_id, contact_id, regenerate_display_name=regenerate
        )
    if req.method == "DELETE":
        return routes_contacts.delete_contact(store, req, mailbox, folder_id, contact_id)
    raise _method_not_allowed(req)
