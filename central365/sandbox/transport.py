"""A synchronous httpx transport that calls the sandbox app in-process, without a socket.

`httpx.ASGITransport` only serves `httpx.AsyncClient`, and Starlette's `TestClient` warns that
its httpx support is deprecated (an error under `filterwarnings = error`).  This transport runs
the ASGI app on its own event loop thread, so a plain `httpx.Client` (what the Graph adapter
takes) can talk to the sandbox in-process, from several threads at once if need be:

    app = create_sandbox_app(SandboxStore())
    with httpx.Client(transport=InProcessTransport(app), base_url="http://sandbox.test/v1.0") as c:
        c.get("/me/contactFolders", headers={"Authorization": "Bearer x"})

The client's read timeout applies.  Exceptions the app raises on purpose (the "drop" fault's `httpx.RemoteProtocolError`) reach the
caller as they are.  The app's lifespan is not run (no state file flushing in-process).
"""

from __future__ import annotations

import asyncio
import threading

import httpx
from starlette.types import ASGIApp


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp, *, timeout_s: float = 60.0) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._timeout_s = timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="central365-sandbox-inprocess", daemon=True
        )
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        # Honour the client's read timeout, so a "hang" fault ends in httpx.ReadTimeout here as
        # it would on a socket (the write has happened: an unknown outcome for the client).
        read_timeout = request.extensions.get("timeout", {}).get("read")
        wait_s = read_timeout if isinstance(read_timeout, int | float) else self._timeout_s
        future = asyncio.run_coroutine_threadsafe(self._send(copy), self._loop)
        try:
            status, headers, content = future.result(timeout=wait_s)
        except TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout(
                "the in-process sandbox did not answer in time", request=request
            ) from None
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _send(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        return response.status_code, response.headers, content

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if not self._loop.is_closed():
            self._loop.close()
