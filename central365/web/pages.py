"""Rendering pages: the Jinja2 environment (autoescaped) and the context every page shares.

Autoescape is on for every template, so any value from Central or Office 365 — a contact named
`<script>…` — is shown as text.  The shared context gives each page the signed-in person,
whether they are an admin (the navigation shows Settings only to them), the CSRF token for its
forms, and the words for states and reasons (`central365.core.model.STATE_LABELS` and `REASON_TEXT`),
so the pages and the command line say the same things.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from central365.core.mapping import field_label
from central365.core.model import REASON_TEXT, STATE_LABELS, State
from central365.web.guide import field_anchor, reason_anchor

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

#: Tabs of the homepage, in order, with the word used in URLs (`?state=`).
STATE_ORDER: tuple[State, ...] = (State.NEW, State.UPDATE, State.UNCHANGED, State.NON_ACTIONABLE)


def number(value: int) -> str:
    """12,345: counts are easier to read grouped."""
    return f"{value:,}"


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%d %b %Y, %H:%M:%S UTC")


def duration(value: timedelta | None) -> str:
    if value is None:
        return "still running"
    seconds = int(value.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{value.total_seconds():.1f} s"


def build_templates() -> Jinja2Templates:
    """The app's templates; called by `create_app`, never at import."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(number=number, when=when, duration=duration, field_label=field_label)
    environment.filters.update(field_anchor=field_anchor, reason_anchor=reason_anchor)
    environment.globals.update(
        STATE_LABELS=STATE_LABELS,
        STATE_ORDER=STATE_ORDER,
        REASON_TEXT=REASON_TEXT,
        State=State,
    )
    return Jinja2Templates(env=environment)


def render_page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    user_name: str | None = None,
    csrf_token: str = "",
    is_admin: bool | None = None,
) -> HTMLResponse:
    """A page with the shared context (`user_name`, `csrf_token`, `is_admin`, `path`) added.

    `is_admin` (the navigation shows Settings only to admins) defaults to what the `SignedIn`
    dependency found for this request, so a view need not pass it.
    """
    templates: Jinja2Templates = request.app.state.templates
    if is_admin is None:
        caller = getattr(request.state, "caller", None)
        is_admin = bool(caller is not None and caller.is_admin)
    values = {
        "user_name": user_name,
        "csrf_token": csrf_token,
        "is_admin": is_admin,
        "path": request.url.path,
        **context,
    }
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    assert isinstance(response, HTMLResponse)
    return response
