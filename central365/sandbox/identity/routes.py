"""The identity platform's HTTP face: Starlette routes next to `/v1.0`, for any tenant segment.

    GET       /{tenant}/v2.0/.well-known/openid-configuration   OIDC metadata
    GET       /{tenant}/discovery/v2.0/keys                     JWKS of the signing key
    GET, POST /{tenant}/oauth2/v2.0/authorize                   sign-in page; the choice
    POST      /{tenant}/oauth2/v2.0/token                       the grants
    POST      /{tenant}/oauth2/v2.0/devicecode                  device code flow start
    GET       /{tenant}/oauth2/v2.0/logout                      sign-out
    GET, POST /devicelogin                                      device code entry + sign-in
    GET, PUT  /_sandbox/identity                                the directory (admin API)
    GET       /_sandbox/identity/autosubmit.js                  the form_post page's script

`{tenant}` is `common`, `organizations`, the sandbox tenant's id or one of its domains.  Every
rule lives in `IdentityService`; this module parses forms and HTTP Basic credentials, builds
URLs from the request's base URL, and shapes answers (JSON, redirects, pages).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from central365.sandbox.identity import pages
from central365.sandbox.identity.errors import OAuthError, RedirectableError
from central365.sandbox.identity.service import IdentityService, Tenant, new_session_state

_NO_CACHE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _root(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (anything else reads as empty)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _basic(request: Request) -> tuple[str, str] | None:
    """HTTP Basic client credentials (RFC 6749 §2.3.1: form-encoded, then base64)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


def _oauth_error(request: Request, error: OAuthError) -> JSONResponse:
    correlation = request.headers.get("client-request-id")
    return JSONResponse(
        error.body(correlation, root=_root(request)),
        status_code=error.status,
        headers={**_NO_CACHE, **_request_ids(request)},
    )


def _request_ids(request: Request) -> dict[str, str]:
    ids = {"x-ms-request-id": str(uuid.uuid4())}
    if "client-request-id" in request.headers:
        ids["client-request-id"] = request.headers["client-request-id"]
    return ids


def page_response(page: pages.Page) -> HTMLResponse:
    return HTMLResponse(page.html, status_code=page.status, headers=page.headers)


def _send_to_app(redirect_uri: str, response_mode: str, params: Mapping[str, str]) -> Response:
    """Deliver the authorize answer to the app, in the response mode it asked for."""
    if response_mode == "form_post":
        return page_response(pages.form_post_page(redirect_uri, params))
    if response_mode == "fragment":
        return RedirectResponse(f"{redirect_uri}#{urlencode(params)}", status_code=302)
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(f"{redirect_uri}{joiner}{urlencode(params)}", status_code=302)


def _error_to_app(request: Request, params: Mapping[str, str], error: OAuthError) -> Response:
    root = _root(request)
    body = error.body(request.headers.get("client-request-id"), root=root)
    answer = {
        "error": error.error,
        "error_description": body["error_description"],
        "error_uri": body["error_uri"],
    }
    if params.get("state"):
        answer["state"] = params["state"]
    return _send_to_app(params["redirect_uri"], params.get("response_mode") or "query", answer)


def identity_routes(service: IdentityService) -> list[Route]:
    """The identity platform's endpoints over `service` (see the module docstring)."""

    def tenant_of(request: Request) -> Tenant:
        return service.resolve_tenant(str(request.path_params["tenant"]))

    async def openid_configuration(request: Request) -> Response:
        try:
            tenant = tenant_of(request)
        except OAuthError as exc:
            return _oauth_error(request, exc)
        return JSONResponse(service.openid_configuration(_root(request), tenant))

    async def keys(request: Request) -> Response:
        try:
            tenant_of(request)
        except OAuthError as exc:
            return _oauth_error(request, exc)
        return JSONResponse(service.jwks())

    async def authorize(request: Request) -> Response:
        if request.method == "POST":
            params = await read_form(request)
        else:
            params = dict(request.query_params)
        action = params.pop(pages.ACTION_FIELD, None)
        user_key = params.pop(pages.USER_FIELD, None)
        try:
            tenant_of(request)
            checked = service.check_authorize(params)
        except RedirectableError as exc:
            return _error_to_app(request, params, exc)
        except OAuthError as exc:
            return page_response(pages.error_page(exc))
        if request.method == "GET" or action is None:
            config = service.config
            grants = {u.oid: " ".join(config.delegated_grant(checked.app, u)) for u in config.users}
            return page_response(
                pages.sign_in_page(
                    checked.app,
                    config.users,
                    action=request.url.path,
                    fields=params,
                    requested=[*checked.requested.shown, *checked.requested.oidc],
                    grants=grants,
                    login_hint=checked.login_hint,
                )
            )
        if action == "cancel":
            declined = RedirectableError(
                "access_denied", 65004, "User declined to consent to access the app."
            )
            return _error_to_app(request, params, declined)
        try:
            code = service.sign_in(checked, user_key or "")
        except OAuthError as exc:
            return page_response(pages.error_page(exc))
        answer = {"code": code}
        if checked.state is not None:
            answer["state"] = checked.state
        answer["session_state"] = new_session_state()
        return _send_to_app(checked.redirect_uri, checked.response_mode, answer)

    async def token(request: Request) -> Response:
        form = await read_form(request)
        try:
            body = service.token(
                form, basic=_basic(request), root=_root(request), tenant=tenant_of(request)
            )
        except OAuthError as exc:
            return _oauth_error(request, exc)
        return JSONResponse(body, headers={**_NO_CACHE, **_request_ids(request)})

    async def devicecode(request: Request) -> Response:
        form = await read_form(request)
        try:
            body = service.start_device_flow(
                form, basic=_basic(request), root=_root(request), tenant=tenant_of(request)
            )
        except OAuthError as exc:
            return _oauth_error(request, exc)
        return JSONResponse(body, headers={**_NO_CACHE, **_request_ids(request)})

    async def devicelogin(request: Request) -> Response:
        action_url = request.url.path
        if request.method == "GET":
            return page_response(pages.device_code_page(action_url))
        form = await read_form(request)
        user_code = form.get(pages.USER_CODE_FIELD, "")
        pending = service.device_request(user_code)
        if pending is None:
            return page_response(
                pages.device_code_page(
                    action_url, "That code didn't work. Check the code and try again."
                )
            )
        action = form.get(pages.ACTION_FIELD)
        if action is None:
            config = service.config
            grants = {u.oid: " ".join(config.delegated_grant(pending.app, u)) for u in config.users}
            return page_response(
                pages.device_sign_in_page(
                    pending.app,
                    config.users,
                    action=action_url,
                    user_code=pending.user_code,
                    requested=[*pending.scopes, *pending.oidc],
                    grants=grants,
                )
            )
        if action == "cancel":
            service.finish_device_sign_in(pending, None)
            return page_response(
                pages.message_page("Sign-in declined", "You may close this window.")
            )
        user = service.finish_device_sign_in(pending, form.get(pages.USER_FIELD, ""))
        if user is None:
            return page_response(pages.device_code_page(action_url, "That user does not exist."))
        return page_response(
            pages.message_page(
                f"Signed in as {user.name}",
                f"You have signed in to the {pending.app.display_name} application on your "
                "device. You may now close this window.",
            )
        )

    async def logout(request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri", "")
        if target and _logout_target_allowed(service, target):
            state = request.query_params.get("state")
            if state:
                joiner = "&" if urlsplit(target).query else "?"
                target = f"{target}{joiner}{urlencode({'state': state})}"
            return RedirectResponse(target, status_code=302)
        return page_response(
            pages.message_page(
                "You signed out of your account",
                "It's a good idea to close all browser windows.",
            )
        )

    base = "/{tenant}"
    return [
        Route(
            f"{base}/v2.0/.well-known/openid-configuration", openid_configuration, methods=["GET"]
        ),
        Route(f"{base}/discovery/v2.0/keys", keys, methods=["GET"]),
        Route(f"{base}/oauth2/v2.0/authorize", authorize, methods=["GET", "POST"]),
        Route(f"{base}/oauth2/v2.0/token", token, methods=["POST"]),
        Route(f"{base}/oauth2/v2.0/devicecode", devicecode, methods=["POST"]),
        Route(f"{base}/oauth2/v2.0/logout", logout, methods=["GET"]),
        Route("/devicelogin", devicelogin, methods=["GET", "POST"]),
    ]


def _logout_target_allowed(service: IdentityService, target: str) -> bool:
    """A registered redirect URI of any app, or any URL on this machine (loopback)."""
    if any(app.redirect_allowed(target) for app in service.config.apps):
        return True
    parts = urlsplit(target)
    return parts.scheme in ("http", "https") and parts.hostname in _LOOPBACK_HOSTS


def identity_admin_routes(service: IdentityService) -> list[Route]:
    """`GET /_sandbox/identity` (the directory as JSON), `PUT` (replace the given fields)."""

    async def autosubmit(request: Request) -> Response:
        return Response(
            pages.AUTOSUBMIT_JS,
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    async def get_identity(request: Request) -> Response:
        return JSONResponse(service.config.to_json())

    async def put_identity(request: Request) -> Response:
        try:
            changes: Any = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
        try:
            service.configure(service.config.updated(changes))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(service.config.to_json())

    return [
        Route("/_sandbox/identity", get_identity, methods=["GET"]),
        Route("/_sandbox/identity", put_identity, methods=["PUT"]),
        Route(pages.AUTOSUBMIT_PATH, autosubmit, methods=["GET"]),
    ]
