"""Sign-in and sign-out pages: the OpenID Connect authorization-code flow with PKCE.

`/auth/login` starts msal's flow, keeps it in a short server-side session and redirects the
browser to the authority (a plain redirect, so the CSP's `form-action 'self'` is never hit);
`/auth/callback` redeems the code, stores the person's msal token cache encrypted (appdb) and
replaces the sign-in session with a fresh one.  Signing out deletes the session and the cached
tokens.  These are the only routes reachable without being signed in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from central365.errors import AuthFailed
from central365.web.deps import Csrf, RuntimeDep
from central365.web.pages import render
from central365.web.sessions import LIFETIME, SIGN_IN_LIFETIME

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Only a path of this site: never `//host` or `https://host` (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


@router.get("/auth/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    identity = runtime.clients.identity(runtime.load_app_settings())
    start = identity.begin_sign_in(runtime.redirect_uri)
    runtime.sessions.end(runtime.sessions.load(request))
    session = runtime.sessions.create(
        {"flow": dict(start.flow), "next": safe_next(next_path)}, SIGN_IN_LIFETIME
    )
    response = RedirectResponse(start.auth_uri, status_code=303)
    runtime.sessions.set_cookie(response, session, SIGN_IN_LIFETIME)
    return response


@router.get("/auth/callback")
def callback(request: Request, runtime: RuntimeDep) -> Response:
    query = request.query_params
    if "admin_consent" in query and "code" not in query:
        # The Scopes panel's admin-consent link comes back here (one registered redirect URI).
        if query.get("admin_consent", "").casefold() != "true":
            raise AuthFailed(
                "The administrator did not grant consent"
                + (f": {query['error_description']}" if query.get("error_description") else ".")
            )
        return RedirectResponse("/settings?consented=1", status_code=303)
    pending = runtime.sessions.load(request)
    flow = pending.data.get("flow") if pending else None
    if pending is None or not isinstance(flow, dict):
        raise AuthFailed(
            "This sign-in has expired or was started in another browser: please sign in again."
        )
    identity = runtime.clients.identity(runtime.load_app_settings())
    try:
        signed_in = identity.complete_sign_in(flow, dict(request.query_params))
    finally:
        runtime.sessions.end(pending)  # a flow is redeemed once, whatever happened
    user = runtime.users.upsert(
        signed_in.oid, signed_in.tenant_id, signed_in.name, signed_in.username
    )
    runtime.users.save_token_cache(user.id, signed_in.token_cache)
    session = runtime.sessions.create({"user_id": user.id})
    response = RedirectResponse(safe_next(str(pending.data.get("next") or "/")), status_code=303)
    runtime.sessions.set_cookie(response, session, LIFETIME)
    return response


@router.get("/auth/logout")
def logout_page(request: Request, runtime: RuntimeDep) -> Response:
    session = runtime.sessions.load(request)
    if session is None or session.user_id is None:
        return RedirectResponse("/auth/signed-out", status_code=303)
    user = runtime.users.get(session.user_id)
    return render(
        request,
        "signed_out.html",
        {"confirm": True},
        user_name=user.name if user else None,
        csrf_token=session.csrf_token,
    )


@router.post("/auth/logout")
def logout(caller: Csrf, runtime: RuntimeDep) -> Response:
    runtime.users.forget_token_cache(caller.user.id)
    runtime.sessions.end(caller.session)
    response = RedirectResponse("/auth/signed-out", status_code=303)
    runtime.sessions.clear_cookie(response)
    return response


@router.get("/auth/signed-out")
def signed_out(request: Request) -> Response:
    return render(request, "signed_out.html", {"confirm": False})
