"""FastAPI dependencies: the runtime, who is asking (session or bearer token), what they may do
(`Access`, the admin guard), the CSRF check, and bounded path and query integers.

Every page and API route depends on `SignedIn` (directly or through `Csrf`, `Admin`,
`AdminCsrf` or `CallerAccess`), so none can be reached anonymously; the one exception handler
turns `SignInRequired` into a redirect to the sign-in for pages and a 401 for the API, and
`Forbidden` into a 403 naming the role needed.  The dependencies that touch the database are
plain `def`s, which FastAPI runs in its thread pool, so the event loop never waits on SQL.

The caller's roles come from the server-side session (written at sign-in from the ID token)
or from the verified bearer token, never from anything else the request carries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from central365.appdb import User
from central365.web.errors import Forbidden, SignInRequired
from central365.web.roles import Access, Person, Role, access_for, is_named_admin, roles_of
from central365.web.runtime import Runtime
from central365.web.security import check_csrf
from central365.web.sessions import WebSession

#: The largest id or page number a path or query takes (the database's 32-bit integers);
#: anything larger answers 404/422 instead of overflowing SQL.
MAX_INT = 2**31 - 1
RunId = Annotated[int, Path(ge=1, le=MAX_INT)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_INT)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in person, and the session they came with (None for a bearer token)."""

    user: User
    session: WebSession | None
    #: The `roles` claim: of the ID token at sign-in (kept in the session), or of the bearer token.
    roles: frozenset[str] = frozenset()
    is_app: bool = False
    #: An admin by app role or by the start-up `admins` (what the navigation shows).
    is_admin: bool = False

    @property
    def person(self) -> Person:
        user = self.user
        return Person(str(user.id), user.oid, user.username, roles_of(self.roles), self.is_app)

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


def _with_admin(caller: Caller, runtime: Runtime) -> Caller:
    is_admin = Role.ADMIN in roles_of(caller.roles) or is_named_admin(
        caller.person, runtime.settings.admins
    )
    return replace(caller, is_admin=is_admin)


def signed_in(request: Request, runtime: RuntimeDep) -> Caller:
    """The caller, from the API's bearer token or the session cookie; else `SignInRequired`."""
    token = _bearer_token(request) if request.url.path.startswith("/api/") else None
    if token is not None:
        verifier = runtime.clients.bearer(runtime.load_app_settings())
        who = verifier.verify(token)
        if not runtime.tenancy.allows(who.tenant_id):
            raise SignInRequired(
                "The bearer token was issued for another organisation's tenant, which "
                "central365 does not serve here."
            )
        user = runtime.users.upsert(who.oid, who.tenant_id, who.name, who.username)
        return _with_admin(Caller(user, None, who.roles, who.is_app), runtime)
    session = runtime.sessions.load(request)
    found = runtime.users.get(session.user_id) if session and session.user_id else None
    if session is None or found is None or not runtime.tenancy.allows(found.tenant_id):
        # (A session of a tenant no longer served, after the operator changed the tenants,
        # signs in again — where the callback refuses it.)
        raise SignInRequired("Please sign in with your Microsoft work account to continue.")
    roles = session.data.get("roles")
    claimed = frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset()
    caller = _with_admin(Caller(found, session, claimed), runtime)
    request.state.session = session
    request.state.caller = caller  # for error pages: they keep the navigation
    return caller


SignedIn = Annotated[Caller, Depends(signed_in)]


def caller_access(caller: SignedIn, runtime: RuntimeDep) -> Access:
    """What the caller may do under the stored settings (mode and target mailbox)."""
    app = runtime.load_app_settings()
    return access_for(
        caller.person,
        mode=app.auth_mode,
        target_mailbox=app.target_mailbox,
        admins=runtime.settings.admins,
    )


#: What the caller may do (`central365.web.roles.Access`).
CallerAccess = Annotated[Access, Depends(caller_access)]

ADMIN_NEEDED = (
    f"Only people with the {Role.ADMIN.value} role may open the Settings: ask an administrator "
    "of central365 to assign it to you, or to make the change."
)


def admin_only(caller: SignedIn) -> Caller:
    """The caller, if an admin; else `Forbidden` naming the role (Settings and its posts)."""
    if not caller.is_admin:
        raise Forbidden(ADMIN_NEEDED, role=Role.ADMIN.value)
    return caller


async def csrf_checked(request: Request, caller: SignedIn) -> Caller:
    """The caller, once a state-changing request has shown the session's CSRF token."""
    if not caller.via_bearer:
        await check_csrf(request, caller.csrf_token)
    return caller


#: The caller of a POST: signed in, and (with a session) the CSRF token checked.
Csrf = Annotated[Caller, Depends(csrf_checked)]

#: An admin (the guard of Settings' pages).
Admin = Annotated[Caller, Depends(admin_only)]


def admin_csrf_checked(caller: Csrf) -> Caller:
    """An admin's POST, its CSRF token checked."""
    return admin_only(caller)


#: An admin's POST with its CSRF token checked (Settings' forms).
AdminCsrf = Annotated[Caller, Depends(admin_csrf_checked)]
