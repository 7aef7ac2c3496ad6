"""Limits at the edge: request bodies capped before they are read, and HSTS over https.

The oversized-body tests call the app as the server would, through ASGI `receive`, with a body
that streams from a generator: they count what the app pulled, so they prove the app never
asked for more than the cap (the server reads the socket only as `receive` is called).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import anyio.from_thread
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from central365.config import Settings
from central365.serving import BackgroundServer, HideQueryStrings, bind_socket, homepage_log_config
from central365.web.limits import (
    DEFAULT_MAX_BODY_BYTES,
    UPLOAD_PREFIX,
    BodyLimit,
    size_words,
)
from central365.web.security import HSTS
from central365.web.uploads import FRAMING_ALLOWANCE
from tests.web.conftest import Web, World, serve

CHUNK = 64 * 1024
HUGE = 200 * 1024 * 1024


@dataclass
class Streamed:
    """A body of `size` bytes handed out one chunk per `receive`, counting what was pulled."""

    size: int
    pulled: int = 0

    async def receive(self) -> Message:
        if self.pulled >= self.size:
            await anyio.sleep_forever()  # the body is over: only a disconnect could follow
        chunk = min(CHUNK, self.size - self.pulled)
        self.pulled += chunk
        return {"type": "http.request", "body": b"x" * chunk, "more_body": self.pulled < self.size}


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


def http_scope(method: str, path: str, headers: dict[str, str]) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("central365.test", 80),
    }


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with app.router.lifespan_context(app):
        yield


@pytest.fixture
def running_app(world: World) -> Iterator[tuple[FastAPI, anyio.from_thread.BlockingPortal]]:
    """The homepage app with its lifespan running, and a portal to call it through ASGI."""
    app = world.app()
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(_lifespan(app)),
    ):
        yield app, portal


def post_streamed(
    running: tuple[FastAPI, anyio.from_thread.BlockingPortal],
    path: str,
    size: int,
    headers: dict[str, str],
) -> tuple[Answer, Streamed]:
    app, portal = running
    body, answer = Streamed(size), Answer()

    async def call() -> None:
        with anyio.fail_after(60):
            await app(http_scope("POST", path, headers), body.receive, answer.send)

    portal.call(call)
    return answer, body


def test_an_anonymous_200_mb_streamed_post_to_the_api_is_refused_at_the_cap(
    running_app: tuple[FastAPI, anyio.from_thread.BlockingPortal],
) -> None:
    answer, body = post_streamed(
        running_app,
        "/api/runs",
        HUGE,
        {"content-type": "application/json", "transfer-encoding": "chunked"},
    )
    assert answer.status == 413
    assert answer.headers["content-type"] == "application/json"
    assert json.loads(answer.body) == {
        "error": "The request is too large: send at most 1 MiB.",
        "problems": [],
    }
    # The app pulled the cap and the one chunk that crossed it, never the 200 MB.
    assert body.pulled <= DEFAULT_MAX_BODY_BYTES + CHUNK
    # The refusal still carries the security headers (the limit sits inside them).
    assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_a_streamed_form_post_over_the_cap_gets_a_short_page(
    running_app: tuple[FastAPI, anyio.from_thread.BlockingPortal],
) -> None:
    answer, body = post_streamed(
        running_app,
        "/runs",
        5 * DEFAULT_MAX_BODY_BYTES,
        {"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert b"The request is too large: send at most 1 MiB." in answer.body
    assert b"<script" not in answer.body and b"style=" not in answer.body
    assert body.pulled <= DEFAULT_MAX_BODY_BYTES + CHUNK


def test_a_declared_length_over_the_cap_is_refused_before_the_app_reads_anything(
    running_app: tuple[FastAPI, anyio.from_thread.BlockingPortal],
) -> None:
    answer, body = post_streamed(
        running_app,
        "/api/runs",
        HUGE,
        {"content-type": "application/json", "content-length": str(HUGE)},
    )
    assert answer.status == 413
    assert body.pulled == 0


def test_a_body_under_the_cap_reaches_the_app(signed_in: Web) -> None:
    """A form of ~400 KB (900 long keys) is an ordinary request, not a refusal."""
    form = [("csrf_token", signed_in.csrf())] + [
        ("key", f"{n:06d}" + "k" * 400) for n in range(900)
    ]
    body = urlencode(form).encode()
    assert 300_000 < len(body) < DEFAULT_MAX_BODY_BYTES
    response = signed_in.client.post(
        "/runs", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 303, response.text[-1500:]
    signed_in.wait_run(int(response.headers["location"].rsplit("/", 1)[1]))


@pytest.mark.e2e
def test_a_real_server_answers_413_to_a_declared_200_mb_body_without_waiting_for_it(
    world: World,
) -> None:
    """Over a socket: only the headers are sent; the answer comes at once."""
    server = BackgroundServer(world.app(), name="limits-test")
    server.start()
    try:
        with socket.create_connection((server.host, server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/runs HTTP/1.1\r\nHost: central365.test\r\n"
                b"Content-Type: application/json\r\n"
                + f"Content-Length: {HUGE}\r\n\r\n".encode()
                + b'{"keys": ["'
            )
            reply = b""
            while b"\r\n\r\n" not in reply:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
    finally:
        server.stop()
    assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]


# --- the middleware on its own: prefixes and caps -------------------------------------------


async def read_everything(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that reads the whole body and says how long it was."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = str(size).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def call_limited(limit: BodyLimit, path: str, size: int) -> tuple[Answer, Streamed]:
    body, answer = Streamed(size), Answer()

    async def call() -> None:
        await limit(http_scope("POST", path, {}), body.receive, answer.send)

    anyio.run(call)
    return answer, body


def test_the_upload_prefix_has_its_own_cap() -> None:
    limit = BodyLimit(read_everything, default_max=100_000, prefix_max={UPLOAD_PREFIX: 300_000})
    assert call_limited(limit, UPLOAD_PREFIX, 250_000)[0].body == b"250000"
    assert call_limited(limit, UPLOAD_PREFIX + "/csv", 250_000)[0].body == b"250000"
    assert call_limited(limit, UPLOAD_PREFIX, 400_000)[0].status == 413
    # Elsewhere, the default: a path that only starts with the same letters is not the upload.
    assert call_limited(limit, "/settings", 250_000)[0].status == 413
    assert call_limited(limit, UPLOAD_PREFIX + "s", 250_000)[0].status == 413
    assert call_limited(limit, "/api/runs", 50_000)[0].body == b"50000"


def test_a_body_exactly_at_the_cap_passes() -> None:
    limit = BodyLimit(read_everything, default_max=3 * CHUNK)
    answer, _ = call_limited(limit, "/runs", 3 * CHUNK)
    assert (answer.status, answer.body) == (200, str(3 * CHUNK).encode())
    assert call_limited(limit, "/runs", 3 * CHUNK + 1)[0].status == 413


def test_create_app_caps_the_upload_with_the_start_up_setting_or_50_mib(world: World) -> None:
    """The upload route answers an oversized file itself; the body limit is its backstop."""
    (limit,) = [m for m in world.app().user_middleware if m.cls is BodyLimit]
    expected = world.settings.upload_max_bytes + 2 * FRAMING_ALLOWANCE
    assert limit.kwargs["prefix_max"] == {UPLOAD_PREFIX: expected}
    default = Settings.model_fields["upload_max_bytes"].default
    assert size_words(default) == "50 MiB"


# --- the access log -------------------------------------------------------------------------


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.e2e
def test_the_access_log_of_the_homepage_has_no_query_strings(world: World) -> None:
    """`/auth/callback?code=…&state=…` is logged as its path; so is a search by email."""
    config = uvicorn.Config(
        world.app(), log_config=homepage_log_config(), log_level="info", lifespan="on"
    )
    server = uvicorn.Server(config)
    access = logging.getLogger("uvicorn.access")
    lines = Lines()
    access.addHandler(lines)
    sock = bind_socket("127.0.0.1")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with httpx.Client(base_url=base) as client:
            client.get("/auth/callback", params={"code": "AUTH-CODE-SECRET", "state": "STATE-1"})
            client.get("/", params={"q": "ada@example.com"})
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        access.removeHandler(lines)
    assert any('"GET /auth/callback HTTP/1.1"' in line for line in lines.lines), lines.lines
    assert any('"GET / HTTP/1.1"' in line for line in lines.lines), lines.lines
    logged = "\n".join(lines.lines)
    for secret in ("AUTH-CODE-SECRET", "STATE-1", "ada@example.com", "ada%40example.com", "?"):
        assert secret not in logged


def test_the_filter_leaves_other_log_records_alone() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, "%s of %s", ("a?b", 2), None)
    assert HideQueryStrings().filter(record)
    assert record.getMessage() == "a?b of 2"


# --- HSTS ------------------------------------------------------------------------------------


def headers_of(world: World, public_url: str) -> list[dict[str, Any]]:
    world.settings = world.settings.model_copy(update={"public_url": public_url})
    found = []
    for web in serve(world.app()):
        for path in ("/", "/static/app.css", "/api/plan", "/no-such-page"):
            found.append(dict(web.client.get(path).headers))
        found.append(dict(web.client.post("/api/runs", content=b"x" * (2 << 20)).headers))
    return found


@pytest.mark.e2e
def test_hsts_on_every_answer_when_the_public_url_is_https(world: World) -> None:
    answers = headers_of(world, "https://central365.example.org")
    assert [a.get("strict-transport-security") for a in answers] == [HSTS] * len(answers)
    assert HSTS == "max-age=31536000; includeSubDomains"


def test_no_hsts_over_plain_http(world: World) -> None:
    answers = headers_of(world, "http://127.0.0.1:8000")
    assert all("strict-transport-security" not in a for a in answers)


def test_an_unexpected_error_answer_carries_the_security_headers_too(world: World) -> None:
    """Starlette's 500 answer is sent outside the middleware `add_middleware` adds."""
    world.settings = world.settings.model_copy(update={"public_url": "https://c365.example.org"})
    app = world.app()

    def boom() -> None:
        raise RuntimeError("an error nobody expected")

    app.add_api_route("/boom", boom)
    answer = Answer()

    async def call() -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        with pytest.raises(RuntimeError):  # Starlette re-raises for the server to log
            await app(http_scope("GET", "/boom", {}), receive, answer.send)

    anyio.run(call)
    assert answer.status == 500
    assert answer.headers["strict-transport-security"] == HSTS
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
