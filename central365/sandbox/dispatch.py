"""Route a `GraphRequest` to its handler by path, the same way for top-level and batch calls.

Paths (after `/v1.0`), segment names case-insensitive as in Graph:

    me | users/{id-or-UPN}                      the mailbox (`me` = the default mailbox)
      /contactFolders                           GET list, POST create
      /contactFolders/{fid}                     GET
      /contactFolders/{fid}/childFolders        GET list, POST create
      /contactFolders/{fid}/childFolders/{cid}/...   same as /contactFolders/{cid}/... (nested)
      /contactFolders/{fid}/contacts            GET list, POST create
      /contactFolders/{fid}/contacts/delta      GET delta
      /contactFolders/{fid}/contacts/{id}       GET, PATCH, DELETE
      /contacts                                 default folder: GET list, POST create
      /contacts/{id}                            any contact of the mailbox: GET, PATCH, DELETE
"""

from __future__ import annotations

from central365.sandbox import routes_contacts, routes_delta, routes_folders
from central365.sandbox.messages import GraphRequest, GraphResponse, problem_response
from central365.sandbox.odata import parse_prefer
from central365.sandbox.problem import GraphProblem, bad_request, not_found
from central365.sandbox.store import SandboxStore


def mailbox_of(segments: tuple[str, ...]) -> str | None:
    """The mailbox a path targets (`me` or the decoded id/UPN), or None for other paths."""
    if segments and segments[0].lower() == "me":
        return "me"
    if len(segments) >= 2 and segments[0].lower() == "users" and segments[1]:
        return segments[1]
    return None


def handle(store: SandboxStore, req: GraphRequest) -> GraphResponse:
    """Answer one Graph call; errors become Graph error bodies, never exceptions."""
    try:
        response = _route(store, req)
    except GraphProblem as problem:
        response = problem_response(
            problem,
            request_id=req.request_id,
            client_request_id=req.headers.get("client-request-id"),
        )
    # Immutable ids: the sandbox's ids never change anyway (folder moves are not modelled),
    # but the header is acknowledged per request like Graph does (reference §6.1).
    if parse_prefer(req.headers.get("prefer")).get("idtype", "").lower() == "immutableid":
        response.headers["Preference-Applied"] = 'IdType="ImmutableId"'
    return response


def _method_not_allowed(req: GraphRequest) -> GraphProblem:
    return GraphProblem(
        405, "ErrorInvalidRequest", f"The HTTP method '{req.method}' is not allowed here."
    )


def _route(store: SandboxStore, req: GraphRequest) -> GraphResponse:
    segments = req.segments
    mailbox = mailbox_of(segments)
    if mailbox is None:
        name = segments[0] if segments else ""
        raise bad_request(f"Resource not found for the segment '{name}'.")
    rest = segments[1:] if mailbox == "me" else segments[2:]
    if mailbox == "me":
        mailbox = store.default_mailbox  # so @odata.context names the user, as Graph does
    if not rest:
        raise bad_request("The mailbox itself is not modelled by the central365 sandbox.")
    head = rest[0].lower()
    if head == "contacts":
        return _contacts(store, req, mailbox, None, rest[1:])
    if head == "contactfolders":
        return _folders(store, req, mailbox, rest[1:])
    raise bad_request(f"Resource not found for the segment '{rest[0]}'.")


def _folders(
    store: SandboxStore, req: GraphRequest, mailbox: str, rest: tuple[str, ...]
) -> GraphResponse:
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
        raise _method_not_allowed(req)
    head = rest[0].lower()
    if head == "childfolders" and len(rest) == 1:
        if req.method == "GET":
            return routes_folders.list_folders(store, req, mailbox, folder_id)
        if req.method == "POST":
            return routes_folders.create_folder(store, req, mailbox, folder_id)
        raise _method_not_allowed(req)
    if head == "contacts":
        if len(rest) == 2 and rest[1].lower() == "delta":
            if req.method != "GET":
                raise _method_not_allowed(req)
            return routes_delta.contacts_delta(store, req, mailbox, folder_id)
        return _contacts(store, req, mailbox, folder_id, rest[1:])
    raise bad_request(f"Resource not found for the segment '{rest[0]}'.")


def _contacts(
    store: SandboxStore,
    req: GraphRequest,
    mailbox: str,
    folder_id: str | None,
    rest: tuple[str, ...],
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
        return routes_contacts.update_contact(store, req, mailbox, folder_id, contact_id)
    if req.method == "DELETE":
        return routes_contacts.delete_contact(store, req, mailbox, folder_id, contact_id)
    raise _method_not_allowed(req)
