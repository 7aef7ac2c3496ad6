"""Errors that only the web app raises: sign-in needed, refused, CSRF, page not found, bad input.

They join the `central365.core.errors` tree so the app's one exception handler
(`central365.web.failures`) can turn any of them into a page or a JSON answer by path.
"""

from __future__ import annotations

from collections.abc import Iterable

from central365.core.errors import Central365Error


class SignInRequired(Central365Error):
    """No signed-in user (or the user's Microsoft session has to be renewed)."""


class Forbidden(Central365Error):
    """The caller is signed in but may not do this; the message names the role to ask for."""

    def __init__(self, message: str, *, role: str | None = None) -> None:
        super().__init__(message)
        self.role = role


class CsrfRefused(Central365Error):
    """A state-changing request without the session's CSRF token."""


class PageNotFound(Central365Error):
    """The run, page or record asked for does not exist."""


class InvalidInput(Central365Error):
    """A request whose values cannot be used; `fields` maps a form field to its message."""

    def __init__(
        self, message: str, *, fields: dict[str, str] | None = None, problems: Iterable[str] = ()
    ) -> None:
        super().__init__(message, problems=problems)
        self.fields = dict(fields or {})
