"""A sync httpx transport that calls an ASGI app in-process (no sockets).

httpx's `ASGITransport` is async-only, and Starlette's `TestClient` now warns when used with
`httpx` (it wants `httpx2`), which `filterwarnings = error` turns into a failure.  This bridge runs
`ASGITransport` on an anyio blocking portal (one event-loop thread), so a plain sync
`httpx.Client` — as the Graph layer takes — can talk to the sandbox.  Calls from several threads
run as concurrent tasks on that loop, so the sandbox sees real concurrency.  Close it (the
client's `close()` does) to stop the portal thread.
"""

from __future__ import annotations

from contextlib import ExitStack

import anyio.from_thread
import httpx
from starlette.types import ASGIApp


class SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._portal.call(self._send, request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def close(self) -> None:
        self._stack.close()
