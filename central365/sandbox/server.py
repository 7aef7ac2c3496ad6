"""Running the sandbox: `run_sandbox` for the CLI, `SandboxServer` for tests, demos, benchmarks.

Both load `state_path` when it exists and let the app's lifespan save it (shortly after each
write and on shutdown), so a restart keeps the mailboxes.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from central365.sandbox.app import create_sandbox_app
from central365.sandbox.context import SandboxContext
from central365.sandbox.faults import FaultConfig, FaultInjector
from central365.sandbox.persist import StatePersister
from central365.sandbox.store import DEFAULT_MAILBOX, SandboxStore

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def _store(default_mailbox: str, state_path: Path | None) -> SandboxStore:
    store = SandboxStore(default_mailbox=default_mailbox)
    if state_path is not None:
        StatePersister(store, state_path).load_if_present()
    return store


def run_sandbox(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    state_path: Path | None = None,
    faults: FaultConfig | None = None,
    default_mailbox: str = DEFAULT_MAILBOX,
    *,
    token: str | None = None,
    log_level: str = "info",
) -> None:
    """Serve the sandbox in the foreground until Ctrl-C / SIGTERM (then save the state).

    Raises ValueError when `state_path` holds a state of an unknown format, and OSError when it
    cannot be read or the port cannot be bound.
    """
    store = _store(default_mailbox, state_path)
    app = create_sandbox_app(store, faults, token=token, state_path=state_path)
    uvicorn.run(app, host=host, port=port, log_level=log_level, ws="none", lifespan="on")


class SandboxServer:
    """The sandbox on a real port, in a background thread.

        with SandboxServer() as sandbox:
            httpx.get(f"{sandbox.url}/me/contactFolders", headers={"Authorization": "Bearer x"})

    `port` 0 picks a free port.  `url` ends in `/v1.0`; `admin_url` is the `/_sandbox` root.
    Pass a `store` to share it with the test (e.g. to seed it directly).
    """

    def __init__(
        self,
        store: SandboxStore | None = None,
        faults: FaultConfig | FaultInjector | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        state_path: Path | None = None,
        token: str | None = None,
        default_mailbox: str = DEFAULT_MAILBOX,
        startup_timeout_s: float = 10.0,
    ) -> None:
        self.store = store if store is not None else _store(default_mailbox, state_path)
        self.app = create_sandbox_app(self.store, faults, token=token, state_path=state_path)
        self.host = host
        self._requested_port = port
        self._startup_timeout_s = startup_timeout_s
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    @property
    def context(self) -> SandboxContext:
        ctx: SandboxContext = self.app.state.sandbox
        return ctx

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1.0"

    @property
    def admin_url(self) -> str:
        return f"http://{self.host}:{self.port}/_sandbox"

    def start(self) -> None:
        """Bind, start serving in a daemon thread, and wait until uvicorn is ready."""
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
        # without it every response waits ~40 ms for the client's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", ws="none", lifespan="on", access_log=False
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="central365-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to exit (runs the lifespan shutdown, which saves the state) and wait."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
