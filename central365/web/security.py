"""Response headers every answer carries, and the CSRF check of state-changing requests.

- `SecurityHeaders`: a pure ASGI middleware adding a Content-Security-Policy without
  `unsafe-inline` (the pages have no inline script or style: all of it is in /static), the
  usual X-Content-Type-Options, Referrer-Policy, X-Frame-Options and Cache-Control for pages,
  and Strict-Transport-Security when the homepage is served over https (`hsts`): a browser
  that once reached it then never tries plain http, where a session cookie could be taken.
- `check_csrf`: the synchroniser-token pattern — the session's token must come back in the
  form field `csrf_token` or the `X-CSRF-Token` header of every POST/PUT/PATCH/DELETE made with
  the session cookie.  A request authenticated by a bearer token needs none: the token is not
  an ambient credential a third-party page could make the browser send.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central365.web.errors import CsrfRefused

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: A year, and every subdomain: the values browsers' preload lists ask for.
HSTS = "max-age=31536000; includeSubDomains"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SecurityHeaders:
    """Add the security headers to every HTTP response of the wrapped app.

    `hsts`: add Strict-Transport-Security; only for a homepage whose public URL is https (on
    plain http browsers ignore it, and it would say something untrue).
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if not is_static:
                    # Pages show contacts and run outcomes: keep them out of shared caches.
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def submitted_csrf_token(request: Request) -> str:
    """The token the request carries: the header (fetch) or the form field (pages)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette keeps it, so the route reads it again for free
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def tokens_match(expected: str, submitted: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), submitted.encode())


async def check_csrf(request: Request, expected: str) -> None:
    """Raise `CsrfRefused` unless a state-changing request carries the session's token."""
    if request.method in SAFE_METHODS:
        return
    if not tokens_match(expected, await submitted_csrf_token(request)):
        raise CsrfRefused(
            "This form has expired or did not come from central365 (the security token is "
            "missing or wrong): reload the page and try again."
        )
