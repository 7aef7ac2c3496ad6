"""Web sessions: a random id in an HttpOnly cookie, everything else server-side (appdb).

The cookie holds only the id `SessionRepository.create` made (`secrets.token_urlsafe(32)`);
the data — user id, CSRF token, the msal flow between sign-in and callback, where to go next —
is stored encrypted in the application database.  A sign-in replaces the session with a fresh one
(no session fixation); sign-out deletes it.

Owns: the cookie's name and attributes (HttpOnly, SameSite=Lax, Secure under https, Path=/).
Must not: put anything but the id in the cookie.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from central365.appdb import SessionRepository

COOKIE_NAME = "central365_session"
LIFETIME = timedelta(hours=12)
#: Long enough to type a password and approve an MFA prompt; then the flow is dropped.
SIGN_IN_LIFETIME = timedelta(minutes=15)


@dataclass
class WebSession:
    """One server-side session as the request sees it."""

    id: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def user_id(self) -> int | None:
        value = self.data.get("user_id")
        return value if isinstance(value, int) else None

    @property
    def csrf_token(self) -> str:
        return str(self.data.get("csrf", ""))


class SessionCookies:
    """Load, create, rotate and end sessions, and set or clear their cookie."""

    def __init__(self, repository: SessionRepository, *, secure: bool) -> None:
        self._repository = repository
        self._secure = secure

    def load(self, request: Request) -> WebSession | None:
        session_id = request.cookies.get(COOKIE_NAME)
        if not session_id:
            return None
        data = self._repository.get(session_id)
        if data is None:
            return None
        return WebSession(session_id, dict(data))

    def create(self, data: Mapping[str, Any], lifetime: timedelta = LIFETIME) -> WebSession:
        """A new session with a new CSRF token."""
        values = {**data, "csrf": secrets.token_urlsafe(32)}
        return WebSession(self._repository.create(values, lifetime), values)

    def save(self, session: WebSession) -> None:
        self._repository.update(session.id, session.data)

    def end(self, session: WebSession | None) -> None:
        if session is not None:
            self._repository.delete(session.id)

    def set_cookie(self, response: Response, session: WebSession, lifetime: timedelta) -> None:
        response.set_cookie(
            COOKIE_NAME,
            session.id,
            max_age=int(lifetime.total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self._secure,
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=self._secure
        )
