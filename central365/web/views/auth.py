"""Sign-in and sign-out pages: the OpenID Connect authorization-code flow with PKCE.

`/auth/login` starts msal's flow, keeps it server-side and redirects the browser to the
authority (a plain redirect, so the CSP's `form-action 'self'` is never hit).  It never ends a
signed-in session — a link or image on another site pointing here must not sign anyone out —
so the flow goes into that session, or into a short sign-in session when there is none.
`/auth/callback` redeems the code, refuses a person of another tenant, stores the person's msal
token cache encrypted (appdb) and replaces the session with a fresh one holding the user and
their app roles (the ID token's `roles`).  Signing out is a POST with the CSRF token; it deletes
the session and the cached tokens.  These are the only routes reachable without being signed in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from central365.core.errors import AuthFailed
from central365.web.deps import Csrf, RuntimeDep, signed_in
from central365.web.errors import Forbidden, SignInRequired
from central365.web.pages import render_page
from central365.web.runtime import Runtime
from central365.web.sessions import LIFETIME, SIGN_IN_LIFETIME, WebSession

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
    pending = {"flow": dict(start.flow), "next": safe_next(next_path)}
    response = RedirectResponse(start.auth_uri, status_code=303)
    current = runtime.sessions.load(request)
    if current is not None and current.user_id is not None:
        # Signed in already (an expired Microsoft sign-in, say): the session stays as it is
        # until the callback replaces it; only the flow is added to it.
        current.data.update(pending)
        runtime.sessions.save(current)
        return response
    runtime.sessions.end(current)  # an earlier, unfinished sign-in
    session = runtime.sessions.create(pending, SIGN_IN_LIFETIME)
    runtime.sessions.set_cookie(response, session, SIGN_IN_LIFETIME)
    return response


def _drop_flow(runtime: Runtime, pending: WebSession) -> None:
    """A flow is redeemed once: a sign-in session ends, a signed-in one only loses the flow."""
    if pending.user_id is None:
        runtime.sessions.end(pending)
        return
    pending.data.pop("flow", None)
    pending.data.pop("next", None)
    runtime.sessions.save(pending)


@router.get("/auth/callback")
def callback(request: Request, runtime: RuntimeDep) -> Response:
    query = request.query_params
    if "admin_consent" in query and "code" not in query:
        # The Scopes panel's admin-consent link comes back here (one registered redirect URI).
        # A refusal also says `admin_consent=True`, with an `error` beside it (Microsoft's v2
        # admin-consent endpoint): the error decides.
        if query.get("error") or query.get("admin_consent", "").casefold() != "true":
            said = query.get("error_description", "").split(".")[0].strip()[:200]
            raise AuthFailed(
                "The administrator did not grant consent"
                + (f": {said}." if said else ".")
                + " An administrator can try again from the Scopes panel on the Settings page."
            )
        return RedirectResponse("/settings?consented=1", status_code=303)
    pending = runtime.sessions.load(request)
    flow = pending.data.get("flow") if pending else None
    if pending is None or not isinstance(flow, dict):
        raise AuthFailed(
            "This sign-in has expired or was started in another browser: please sign in again."
        )
    identity = runtime.clients.identity(runtime.load_app_settings())
    next_path = safe_next(str(pending.data.get("next") or "/"))
    try:
        signed_in = identity.complete_sign_in(flow, dict(request.query_params))
    finally:
        _drop_flow(runtime, pending)  # whatever happened
    if not runtime.tenancy.allows(signed_in.tenant_id):
        raise Forbidden(
            "Your account belongs to another organisation's Microsoft 365 tenant, which "
            "central365 does not serve here: sign in with an account of this organisation."
        )
    user = runtime.users.upsert(
        signed_in.oid, signed_in.tenant_id, signed_in.name, signed_in.username
    )
    runtime.users.save_token_cache(user.id, signed_in.token_cache)
    runtime.sessions.end(pending)  # a fresh session at sign-in: no session fixation
    session = runtime.sessions.create({"user_id": user.id, "roles": sorted(signed_in.roles)})
    response = RedirectResponse(next_path, status_code=303)
    runtime.sessions.set_cookie(response, session, LIFETIME)
    return response


@router.get("/auth/logout")
def logout_page(request: Request, runtime: RuntimeDep) -> Response:
    """Only asks to confirm: signing out is the POST below, with the CSRF token."""
    try:
        caller = signed_in(request, runtime)
    except SignInRequired:
        return RedirectResponse("/auth/signed-out", status_code=303)
    return render_page(
        request,
        "signed_out.html",
        {"confirm": True},
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
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
    return render_page(request, "signed_out.html", {"confirm": False})
