"""Run an ASGI app on a real port in a background thread (the demo, end-to-end tests, benches).

Both the sandbox and the homepage need this; `central365 sandbox` and `central365 serve` run
in the foreground with `uvicorn.run` instead, the homepage with `homepage_log_config()`: its
access log records paths without their query strings.
"""

from __future__ import annotations

import copy
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any, Literal

import uvicorn
import uvicorn.config
from starlette.types import ASGIApp


class HideQueryStrings(logging.Filter):
    """Drop the query string from the path of every line of uvicorn's access log.

    Every path, not only `/auth/callback` (whose query carries the authorization code and the
    sign-in state): the homepage's search puts names and emails in `?q=`, and `/auth/login`
    carries `?next=`; none of it belongs in a log (STYLE: never log raw emails).  The path and
    the status are what an operator needs.

    uvicorn logs `'%s - "%s %s HTTP/%s" %d'` with (client, method, path?query, version,
    status) as the record's arguments, which its access formatter reads by position.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            client, method, _, version, status = args
            record.args = (client, method, args[2].split("?", 1)[0], version, status)
        return True


def homepage_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with `HideQueryStrings` on its access logger."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["hide_query_strings"] = {"()": HideQueryStrings}
    config["loggers"]["uvicorn.access"]["filters"] = ["hide_query_strings"]
    return config


def bind_socket(host: str, port: int = 0) -> socket.socket:
    """A listening-ready TCP socket on `host:port` (0 picks a free port).

    IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    without it every response waits ~40 ms for the client's delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class BackgroundServer:
    """`app` served by uvicorn on `host:port` (0 picks a free port) in a daemon thread.

    Pass `sock` (from `bind_socket`) when the port must be known before the app is built, and
    `lifespan=False` for a second listener of an app whose first one runs its lifespan.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "central365-server",
        ssl_certfile: Path | None = None,
        ssl_keyfile: Path | None = None,
        startup_timeout_s: float = 10.0,
        sock: socket.socket | None = None,
        lifespan: bool = True,
    ) -> None:
        self.app = app
        self.host = host
        self.port = 0
        self._requested_port = port
        self._name = name
        self._ssl = (ssl_certfile, ssl_keyfile)
        self._startup_timeout_s = startup_timeout_s
        self._lifespan: Literal["on", "off"] = "on" if lifespan else "off"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = sock
        if sock is not None:
            self.port = sock.getsockname()[1]

    def bind(self) -> int:
        """Reserve the port now (so URLs can be known before `start`); returns it."""
        if self._socket is None:
            self._socket = bind_socket(self.host, self._requested_port)
            self.port = self._socket.getsockname()[1]
        return self.port

    def start(self) -> None:
        """Serve in a daemon thread and wait until uvicorn is ready (RuntimeError if not)."""
        self.bind()
        certfile, keyfile = self._ssl
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            ws="none",
            lifespan=self._lifespan,
            access_log=False,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self._socket]}, name=self._name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._name} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to exit (its lifespan shutdown runs) and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
