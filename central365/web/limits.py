"""`BodyLimit`: request bodies are capped before they are read.

A pure ASGI middleware, so the cap holds whatever reads the body later (FastAPI reads a JSON
body before any dependency runs, so before the sign-in check; Starlette's form parser reads
forms).  Two checks:

- a `Content-Length` above the cap is refused with 413 before the app is called at all;
- a body without one (chunked) is counted as it streams through `receive`: the chunk that
  crosses the cap is never handed on, the app's own answer is replaced by the 413, and nothing
  beyond the cap is ever asked of the server (which reads the socket only as `receive` is
  called, so the rest of an oversized body is not even read from the network).

The cap is per path prefix, longest prefix first: the Settings upload of a Central CSV export
gets its own (larger) cap; everything else (forms, the JSON API) gets the default.

It must not buffer the body itself: it only counts the chunks the app asks for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Forms and the JSON API: the largest legitimate body is a run of 100,000 keys (~2 MB of
#: JSON at most in theory, well under 1 MiB for real Central ids of a few characters).
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
UPLOAD_PREFIX = "/settings/upload"


class BodyTooLarge(Exception):
    """Raised from `receive` when a streamed body crosses the cap (the app never sees more)."""


def size_words(limit: int) -> str:
    """1 MiB / 50 MiB / 512 KiB: the cap as a person reads it."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit:,} bytes"


def refusal_message(limit: int) -> str:
    return f"The request is too large: send at most {size_words(limit)}."


class BodyLimit:
    """Refuse request bodies larger than the cap of their path with 413 (JSON under /api/)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_max: int = DEFAULT_MAX_BODY_BYTES,
        prefix_max: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.default_max = default_max
        # Longest prefix first, so "/settings/upload" wins over a shorter "/settings".
        self.prefix_max: tuple[tuple[str, int], ...] = tuple(
            sorted((prefix_max or {}).items(), key=lambda item: len(item[0]), reverse=True)
        )

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.prefix_max:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        return self.default_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = self.limit_for(path)
        declared = _content_length(scope["headers"])
        if declared is not None and declared > limit:
            await _refuse(send, path, limit)
            return
        received = 0
        exceeded = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded:
                # The app answered the broken body in its own way (FastAPI: "400 error parsing
                # the body"); the person is told the true reason once, here.
                if not response_started:
                    response_started = True
                    await _refuse(send, path, limit)
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if response_started:
                raise
            await _refuse(send, path, limit)
        except Exception:
            if not exceeded or response_started:
                raise
            # The crossing surfaced as another error (a parser wrapping ours): still a 413.
            response_started = True
            await _refuse(send, path, limit)


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server (h11/httptools) refuses a malformed length itself
    return None


async def _refuse(send: Send, path: str, limit: int) -> None:
    message = refusal_message(limit)
    if path.startswith("/api/"):
        body = json.dumps({"error": message, "problems": []}).encode()
        content_type = b"application/json"
    else:
        body = _REFUSAL_PAGE.format(message=message).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: A short page of its own: the templates need the app's state, which a refusal made before
#: the app runs does not have.  No inline style or script (the CSP forbids them).
_REFUSAL_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Too large · central365</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><main id="main"><h1>Too large</h1>
<div class="error" role="alert" data-status="413"><p class="message">{message}</p></div>
<p><a href="/">Back to the homepage</a></p></main></body>
</html>
"""
