"""The admin consent endpoints' HTTP face: the pages an admin goes through, and the redirect.

    GET, POST /{tenant}/v2.0/adminconsent   permissions named in `scope` (static or dynamic)
    GET, POST /{tenant}/adminconsent        (v1.0) everything on the app registration

Steps, each a POST of the same form (the sandbox keeps no sign-in session): pick a user; a
user without a directory admin role sees "Need admin approval" (AADSTS90094); an admin sees
the permissions with Accept / Cancel.  The app hears the outcome at its redirect URI, as
Microsoft documents (docs/sandbox.md, "Admin consent"):

- v2.0 accepted: `admin_consent=True&tenant=<tenant id>&scope=<granted>&state=...`;
- v2.0 declined: `admin_consent=True&error=consent_required&error_description=AADSTS65004:
  ...&state=...`;
- v1.0 accepted: `tenant=<tenant id>&state=...&admin_consent=True`; declined:
  `error=permission_denied&error_description=The admin canceled the request`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from central365.sandbox.identity import pages
from central365.sandbox.identity.admin_consent import configured, consent_request
from central365.sandbox.identity.authorize import checked_app
from central365.sandbox.identity.errors import OAuthError
from central365.sandbox.identity.routes import page_response, read_form
from central365.sandbox.identity.service import IdentityService


def _redirect(redirect_uri: str, answer: Mapping[str, str]) -> Response:
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(f"{redirect_uri}{joiner}{urlencode(answer)}", status_code=302)


def _declined(
    v2: bool, state: str | None, root: str, error: OAuthError | None = None
) -> dict[str, str]:
    if not v2:
        return {"error": "permission_denied", "error_description": "The admin canceled the request"}
    if error is None:
        error = OAuthError(
            "consent_required",
            65004,
            "The resource owner or authorization server denied the request.",
        )
    body = error.body(root=root)
    answer = {
        "admin_consent": "True",
        "error": error.error,
        "error_description": body["error_description"],
    }
    if state is not None:
        answer["state"] = state
    return answer


def admin_consent_routes(service: IdentityService) -> list[Route]:
    """`/{tenant}/adminconsent` and `/{tenant}/v2.0/adminconsent` over `service`."""

    async def admin_consent(request: Request) -> Response:
        if request.method == "POST":
            params = await read_form(request)
        else:
            params = dict(request.query_params)
        action = params.pop(pages.ACTION_FIELD, None)
        user_key = params.pop(pages.USER_FIELD, "")
        v2 = request.url.path.rstrip("/").endswith("/v2.0/adminconsent")
        root = str(request.base_url).rstrip("/")
        config = service.config
        try:
            service.resolve_tenant(str(request.path_params["tenant"]))
            app, redirect_uri = checked_app(config, params)
        except OAuthError as exc:
            return page_response(pages.error_page(exc))
        state = params.get("state")
        try:
            consent = (
                consent_request(config, app, params.get("scope", ""))
                if v2
                else configured(config, app)
            )
        except OAuthError as exc:
            return _redirect(redirect_uri, _declined(v2, state, root, exc))
        path = request.url.path
        if action is None:
            return page_response(
                pages.admin_consent_sign_in_page(
                    app, config.users, action=path, fields=params, lines=consent.lines()
                )
            )
        if action == "cancel":
            return _redirect(redirect_uri, _declined(v2, state, root))
        user = config.user(user_key)
        if user is None:
            unknown = OAuthError(
                "invalid_request", 50034, f"The user account {user_key} does not exist."
            )
            return page_response(pages.error_page(unknown))
        if not user.directory_admin:
            return page_response(pages.need_admin_page(app, user, action=path, fields=params))
        if action != "accept":
            return page_response(
                pages.admin_consent_page(
                    app, user, action=path, fields=params, lines=consent.lines()
                )
            )
        service.grant_admin_consent(app, consent)
        if not v2:
            answer = {"tenant": config.tenant_id}
            if state is not None:
                answer["state"] = state
            return _redirect(redirect_uri, {**answer, "admin_consent": "True"})
        answer = {"admin_consent": "True", "tenant": config.tenant_id, "scope": consent.granted()}
        if state is not None:
            answer["state"] = state
        return _redirect(redirect_uri, answer)

    return [
        Route("/{tenant}/v2.0/adminconsent", admin_consent, methods=["GET", "POST"]),
        Route("/{tenant}/adminconsent", admin_consent, methods=["GET", "POST"]),
    ]
