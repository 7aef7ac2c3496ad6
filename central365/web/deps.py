"""FastAPI dependencies: the runtime, who is asking (session or bearer token), the CSRF check.

Every page and API route depends on `SignedIn` (directly or through `Csrf`), so none can be
reached anonymously; the one exception handler turns `SignInRequired` into a redirect to the
sign-in for pages and a 401 for the API.  The dependencies that touch the database are plain
`def`s, which FastAPI runs in its thread pool, so the event loop never waits on SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from central365.appdb import User
from central365.web.errors import SignInRequired
from central365.web.runtime import Runtime
from central365.web.security import check_csrf
from central365.web.sessions import WebSession


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in person, and the session they came with (None for a bearer token)."""

    user: User
    session: WebSession | None

    @property
    def via_bearer(self) -> bool:
        return self.session is None

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else ""

    @property
    def display_name(self) -> str:
        """Who started a run, as History shows it."""
        user = self.user
        if user.username and user.username != user.name:
            return f"{user.name} ({user.username})"
        return user.name or user.username


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.casefold() == "bearer" and value.strip():
        return value.strip()
    return None


def signed_in(request: Request, runtime: RuntimeDep) -> Caller:
    """The caller, from the API's bearer token or the session cookie; else `SignInRequired`."""
    token = _bearer_token(request) if request.url.path.startswith("/api/") else None
    if token is not None:
        verifier = runtime.clients.bearer(runtime.load_app_settings())
        who = verifier.verify(token)
        user = runtime.users.upsert(who.oid, who.tenant_id, who.name, who.username)
        return Caller(user, None)
    session = runtime.sessions.load(request)
    found = runtime.users.get(session.user_id) if session and session.user_id else None
    if session is None or found is None:
        raise SignInRequired("Please sign in with your Microsoft work account to continue.")
    request.state.session = session
    return Caller(found, session)


SignedIn = Annotated[Caller, Depends(signed_in)]


async def csrf_checked(request: Request, caller: SignedIn) -> Caller:
    """The caller, once a state-changing request has shown the session's CSRF token."""
    if not caller.via_bearer:
        await check_csrf(request, caller.csrf_token)
    return caller


#: The caller of a POST: signed in, and (with a session) the CSRF token checked.
Csrf = Annotated[Caller, Depends(csrf_checked)]
