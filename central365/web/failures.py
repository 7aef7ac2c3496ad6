"""The web edge's one error translator: every error becomes a page or JSON, chosen by path.

`/api/*` answers JSON (`{"error": message, "problems": [...], "fields": {...}}`), everything
else renders `error.html` — except `SignInRequired` on a page, which redirects to the sign-in.
The message shown is the error's own sentence for central365's errors; for anything unexpected
it is a generic sentence (the details go to the log, never to the page), so no secret, token or
connection string can leak through an error.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from central365.appdb import RunInProgress
from central365.errors import (
    AuthFailed,
    Central365Error,
    ConfigError,
    GraphError,
    SourceError,
)
from central365.web.errors import CsrfRefused, InvalidInput, PageNotFound, SignInRequired
from central365.web.pages import render

logger = logging.getLogger(__name__)

#: HTTP status for each kind of error, most specific first.
STATUS: tuple[tuple[type[Central365Error], int], ...] = (
    (SignInRequired, 401),
    (CsrfRefused, 403),
    (PageNotFound, 404),
    (RunInProgress, 409),
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


def _respond(
    request: Request,
    status: int,
    message: str,
    problems: tuple[str, ...] = (),
    exc: Central365Error | None = None,
) -> Response:
    if _is_api(request):
        body: dict[str, object] = {"error": message, "problems": list(problems)}
        if isinstance(exc, InvalidInput):
            body["fields"] = exc.fields
        if isinstance(exc, RunInProgress):
            body["run_id"] = exc.run_id
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)
    session = getattr(request.state, "session", None)
    return render(
        request,
        "error.html",
        {
            "status": status,
            "message": message,
            "problems": problems,
            "run_id": exc.run_id if isinstance(exc, RunInProgress) else None,
            "show_settings": isinstance(exc, ConfigError | SourceError | AuthFailed),
        },
        status_code=status,
        user_name=None,
        csrf_token=session.csrf_token if session else "",
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
    return _respond(request, status_of(exc), exc.message, exc.problems, exc)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "There is no such page.", 405: "This address does not take that request."}
    return _respond(request, exc.status_code, message.get(exc.status_code, str(exc.detail)))


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = tuple(
        f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg', '')}"
        for error in exc.errors()
    )
    return _respond(
        request, 422 if _is_api(request) else 400, "The request is not valid.", problems
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    # The type only: an exception's text may hold a connection string or a token.
    logger.error("Unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return _respond(
        request, 500, f"Something went wrong ({type(exc).__name__}); the details are in the log."
    )


def install(app: FastAPI) -> None:
    """Register the translator for every error the app may raise."""
    app.add_exception_handler(Central365Error, handle_central365_error)
    app.add_exception_handler(HTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_unexpected)
