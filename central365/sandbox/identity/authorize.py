"""The authorize request's checks, in the order Entra makes them.

Until the client id and the redirect URI are known good, a problem is shown to the person
(`PageError`); afterwards the app hears about it at its redirect URI (`RedirectableError`).
Scopes of several resources are accepted here (one consent can cover them); the token
endpoint then issues a token for one resource at a time (`scope_request`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from central365.sandbox.identity import errors
from central365.sandbox.identity.errors import OAuthError, PageError, RedirectableError
from central365.sandbox.identity.registry import IdentityConfig, RegisteredApp
from central365.sandbox.identity.scope_request import ScopeRequest, parse_scopes

RESPONSE_MODES = ("query", "fragment", "form_post")
_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


@dataclass(frozen=True)
class AuthorizeRequest:
    """A checked `/authorize` request; `params` is the original query (for the sign-in form)."""

    app: RegisteredApp
    redirect_uri: str
    response_mode: str
    state: str | None
    nonce: str | None
    code_challenge: str
    requested: ScopeRequest
    login_hint: str | None
    params: Mapping[str, str]


def checked_app(config: IdentityConfig, params: Mapping[str, str]) -> tuple[RegisteredApp, str]:
    """The app and its redirect URI, both known good; `PageError` otherwise."""
    client_id = params.get("client_id", "")
    if not client_id:
        raise PageError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    app = config.app(client_id)
    if app is None:
        unknown = errors.unknown_client(client_id, config.tenant_id)
        raise PageError(unknown.error, unknown.aadsts, unknown.description)
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        raise PageError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'redirect_uri'.",
        )
    if not app.redirect_allowed(redirect_uri):
        raise PageError(
            "invalid_request",
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match "
            f"the redirect URIs configured for the application '{client_id}'. Make sure "
            "the redirect URI sent in the request matches one added to your application.",
        )
    return app, redirect_uri


def check_authorize(config: IdentityConfig, params: Mapping[str, str]) -> AuthorizeRequest:
    """Check an authorize request the way Entra does, before the sign-in page shows.

    Raises `PageError` while the redirect URI is not trusted yet, `RedirectableError`
    afterwards (the app hears about it at its redirect URI).
    """
    app, redirect_uri = checked_app(config, params)
    response_mode = params.get("response_mode") or "query"
    if response_mode not in RESPONSE_MODES:
        raise PageError(
            "invalid_request",
            900144,
            f"The response_mode '{response_mode}' is not supported: query, fragment or form_post.",
        )

    def redirectable(aadsts: int, error: str, description: str) -> RedirectableError:
        return RedirectableError(error, aadsts, description)

    response_type = params.get("response_type", "")
    if response_type != "code":
        raise redirectable(
            700051,
            "unsupported_response_type",
            f"response_type '{response_type}' is not enabled for the application.",
        )
    challenge = params.get("code_challenge", "")
    if not challenge:
        raise redirectable(
            9002325,
            "invalid_request",
            "Proof Key for Code Exchange is required: send code_challenge and "
            "code_challenge_method=S256.",
        )
    if params.get("code_challenge_method") != "S256":
        raise redirectable(
            501492,
            "invalid_request",
            "Invalid code_challenge_method: the sandbox accepts S256 only.",
        )
    if not _PKCE_CHALLENGE.fullmatch(challenge):
        raise redirectable(501491, "invalid_request", "Invalid size of Code_Challenge parameter.")
    raw_scope = params.get("scope", "")
    if not raw_scope.strip():
        raise redirectable(
            900144,
            "invalid_request",
            "The request body must contain the following parameter: 'scope'.",
        )
    try:
        requested = parse_scopes(config, app, raw_scope)
    except OAuthError as exc:
        raise redirectable(exc.aadsts, exc.error, exc.description) from None
    if params.get("prompt") == "none":
        raise redirectable(
            50058,
            "login_required",
            "A silent sign-in request was sent but no user is signed in (the sandbox "
            "keeps no sign-in session).",
        )
    return AuthorizeRequest(
        app=app,
        redirect_uri=redirect_uri,
        response_mode=response_mode,
        state=params.get("state"),
        nonce=params.get("nonce"),
        code_challenge=challenge,
        requested=requested,
        login_hint=params.get("login_hint"),
        params=dict(params),
    )
