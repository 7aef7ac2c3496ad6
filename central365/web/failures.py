"""The web edge's one error translator: every error becomes a page or JSON, chosen by path.

`/api/*` answers JSON (`{"error": message, "problems": [...], "fields": {...}}`), everything
else renders `error.html` — except `SignInRequired` on a page, which redirects to the sign-in.
`Forbidden` answers 403 with the sentence naming the role needed.  An error page keeps the
navigation and sign-out of the person signed in, and never offers a link back to the page that
failed (a failing homepage offers the Settings to an admin instead).
The message shown is the error's own sentence for central365's errors; for anything unexpected
it is a generic sentence (the details go to the log, never to the page), so no secret, token or
connection string can leak through an error.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from central365.appdb import RunInProgress
from central365.core.errors import (
    AuthFailed,
    Central365Error,
    ConfigError,
    GraphError,
    MassChangeRefused,
    SourceError,
)
from central365.sources.redact import mask_secrets
from central365.web.deps import signed_in
from central365.web.errors import (
    CsrfRefused,
    Forbidden,
    InvalidInput,
    PageNotFound,
    SignInRequired,
)
from central365.web.pages import render_page

logger = logging.getLogger(__name__)

#: HTTP status for each kind of error, most specific first.
STATUS: tuple[tuple[type[Central365Error], int], ...] = (
    (SignInRequired, 401),
    (Forbidden, 403),
    (CsrfRefused, 403),
    (PageNotFound, 404),
    (RunInProgress, 409),
    (MassChangeRefused, 409),  # the plan trips a guard: a state to allow or fix
    (InvalidInput, 400),
    (ConfigError, 409),  # the stored settings cannot be used: a state to fix, not a bad request
    (AuthFailed, 502),
    (SourceError, 502),
    (GraphError, 502),
)


def status_of(exc: Central365Error) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


#: Pages whose failure the homepage link would only repeat.
HOME_PATHS = frozenset({"/", "/plan"})


def _signed_in_person(request: Request) -> tuple[str | None, str, bool]:
    """Name, CSRF token and admin flag of the person signed in, for the error page's navigation.

    The route's own dependency left them on `request.state`; an error raised before it ran
    (an unknown address, a bad parameter) looks the session up here.  Anything going wrong
    here only costs the navigation, never the error page itself.
    """
    caller = getattr(request.state, "caller", None)
    if caller is not None:
        return caller.user.name, caller.csrf_token, caller.is_admin
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return None, "", False
    try:
        caller = signed_in(request, runtime)
    except Exception:  # not signed in, or the database is the problem
        return None, "", False
    return caller.user.name, caller.csrf_token, caller.is_admin


#: Start-up settings a message may name, in the words of the Settings page.
_SETTING_WORDS = {
    "CENTRAL365_CENTRAL_TABLE": "the table on the Settings page",
    "CENTRAL365_CENTRAL_MAPPING": "the column mapping on the Settings page",
    "CENTRAL365_CENTRAL": "the Central source on the Settings page",
}
_SETTING_NAME = re.compile(r"CENTRAL365_[A-Z_]+")
#: What a person who cannot change the source learns when Central cannot be read.
SOURCE_UNREADABLE = (
    "Central's contacts cannot be read right now: an administrator needs to check the Central "
    "source on the Settings page."
)


def _in_words_of_the_page(text: str) -> str:
    """A message with no password in it, speaking of the form's fields, not the environment."""

    def word(match: re.Match[str]) -> str:
        name = match.group(0)
        return _SETTING_WORDS.get(
            name, f"the server's {name.removeprefix('CENTRAL365_').lower()} setting"
        )

    return _SETTING_NAME.sub(word, mask_secrets(text))


def _for_this_person(
    message: str, problems: tuple[str, ...], exc: Central365Error | None, is_admin: bool
) -> tuple[str, tuple[str, ...]]:
    """What of an error this person is shown.

    A source's problems name its tables, columns and hosts: only those who may change the
    source (admins) read them; everyone else is told who can fix it.
    """
    if isinstance(exc, SourceError) and not is_admin:
        return SOURCE_UNREADABLE, ()
    return _in_words_of_the_page(message), tuple(_in_words_of_the_page(p) for p in problems)


async def _respond(
    request: Request,
    status: int,
    message: str,
    problems: tuple[str, ...] = (),
    exc: Central365Error | None = None,
) -> Response:
    if _is_api(request):
        caller = getattr(request.state, "caller", None)
        message, problems = _for_this_person(
            message, problems, exc, caller is not None and caller.is_admin
        )
        body: dict[str, object] = {"error": message, "problems": list(problems)}
        if isinstance(exc, InvalidInput):
            body["fields"] = exc.fields
        if isinstance(exc, RunInProgress):
            body["run_id"] = exc.run_id
        if isinstance(exc, Forbidden) and exc.role:
            body["role_needed"] = exc.role
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)
    user_name, csrf_token, is_admin = await run_in_threadpool(_signed_in_person, request)
    message, problems = _for_this_person(message, problems, exc, is_admin)
    settings_help = isinstance(exc, ConfigError | SourceError | AuthFailed)
    return render_page(
        request,
        "error.html",
        {
            "status": status,
            "message": message,
            "problems": problems,
            "run_id": exc.run_id if isinstance(exc, RunInProgress) else None,
            "role_needed": exc.role if isinstance(exc, Forbidden) else None,
            "show_settings": is_admin and (settings_help or request.url.path in HOME_PATHS),
            "show_home": request.url.path not in HOME_PATHS,
        },
        status_code=status,
        user_name=user_name,
        csrf_token=csrf_token,
        is_admin=is_admin,
    )


async def handle_central365_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Central365Error)
    if isinstance(exc, SignInRequired) and not _is_api(request):
        target = request.url.path
        if request.url.query:
            target += f"?{request.url.query}"
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/auth/login?next={quote(target, safe='')}", status_code=303)
    return await _respond(request, status_of(exc), exc.message, exc.problems, exc)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "There is no such page.", 405: "This address does not take that request."}
    return await _respond(request, exc.status_code, message.get(exc.status_code, str(exc.detail)))


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("loc", ("",))[0] == "path" for error in errors):
        # An id out of range (or not a number) names nothing that exists.
        return await _respond(request, 404, "There is no such page.")
    problems = tuple(
        f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg', '')}"
        for error in errors
    )
    return await _respond(
        request, 422 if _is_api(request) else 400, "The request is not valid.", problems
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    # The type only: an exception's text may hold a connection string or a token.
    logger.error("Unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return await _respond(
        request, 500, f"Something went wrong ({type(exc).__name__}); the details are in the log."
    )


def install(app: FastAPI) -> None:
    """Register the translator for every error the app may raise."""
    app.add_exception_handler(Central365Error, handle_central365_error)
    app.add_exception_handler(HTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_unexpected)
