"""Running the sandbox: `run_sandbox` for the CLI, `SandboxServer` for tests, demos, benchmarks.

Both load `state_path` when it exists and let the app save it (before each answer that
confirms a write, see `central365.sandbox.persist`), so a restart, even after `kill -9`,
keeps every confirmed write.  Both can serve HTTPS with a local CA
(`central365.sandbox.tls`), which msal needs to use the sandbox as its authority.  The identity
platform's signing key is kept in the TLS directory (or next to the state file) when there is
one, so tokens issued before a restart stay valid.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import uvicorn

from central365.mailstore.store import DEFAULT_MAILBOX, SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.context import SandboxContext
from central365.sandbox.faults import FaultConfig, FaultInjector
from central365.sandbox.identity.registry import IdentityConfig
from central365.sandbox.identity.service import IdentityService
from central365.sandbox.persist import load_state
from central365.sandbox.tls import TlsFiles, ensure_tls_files
from central365.serving import BackgroundServer

SIGNING_KEY_FILE = "sandbox-signing-key.pem"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def _store(
    default_mailbox: str, state_path: Path | None, mailboxes: tuple[str, ...] = ()
) -> SandboxStore:
    store = SandboxStore(default_mailbox=default_mailbox, mailboxes=mailboxes)
    if state_path is not None:
        load_state(store, state_path)
    return store


def _identity(
    identity: IdentityConfig | IdentityService | None,
    tls_dir: Path | None,
    state_path: Path | None,
) -> IdentityService:
    """The identity service, its signing key kept in `tls_dir` or beside the state file."""
    if isinstance(identity, IdentityService):
        return identity
    key_path = None
    if tls_dir is not None:
        key_path = tls_dir / SIGNING_KEY_FILE
    elif state_path is not None:
        key_path = state_path.with_name(f"{state_path.name}.{SIGNING_KEY_FILE}")
    return IdentityService(identity, key_path=key_path)


def run_sandbox(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    state_path: Path | None = None,
    faults: FaultConfig | None = None,
    default_mailbox: str = DEFAULT_MAILBOX,
    *,
    mailboxes: tuple[str, ...] = (),
    token: str | None = None,
    log_level: str = "info",
    tls_dir: Path | None = None,
    identity: IdentityConfig | None = None,
) -> None:
    """Serve the sandbox in the foreground until Ctrl-C / SIGTERM (then save the state).

    With `tls_dir`, serve HTTPS with the local CA kept there (`tls_dir/sandbox-ca.pem` is what
    clients trust, see `central365.sandbox.tls.ca_path_in`).  `identity` is the identity
    platform's directory (default: the demo app and users).  `default_mailbox` (what `/me`
    stands for) and `mailboxes` exist; so do the directory's users.

    Raises ValueError when `state_path` holds a state of an unknown format, and OSError when it
    cannot be read or the port cannot be bound.
    """
    store = _store(default_mailbox, state_path, mailboxes)
    service = _identity(identity, tls_dir, state_path)
    app = create_sandbox_app(store, faults, token=token, state_path=state_path, identity=service)
    files = ensure_tls_files(tls_dir, [host]) if tls_dir is not None else None
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ws="none",
        lifespan="on",
        ssl_certfile=str(files.cert_path) if files else None,
        ssl_keyfile=str(files.key_path) if files else None,
    )


class SandboxServer:
    """The sandbox on a real port, in a background thread.

        with SandboxServer() as sandbox:
            httpx.get(f"{sandbox.url}/me/contactFolders", headers={"Authorization": "Bearer x"})

    `port` 0 picks a free port.  `url` ends in `/v1.0`; `admin_url` is the `/_sandbox` root;
    `root_url` is the scheme and authority; `authority(tenant)` is what msal takes.
    Pass a `store` to share it with the test (e.g. to seed it directly).

    `tls=True` serves HTTPS: a local CA and a server certificate are made in `tls_dir` (a
    temporary directory, removed on `stop()`, when None) at `start()`; `ca_path` is the CA
    file clients must trust (a requests session's `verify=`, httpx's `verify=`,
    `CENTRAL365_CA_BUNDLE`).  `identity` is the directory of the identity platform (default:
    the demo app and users) or a ready `IdentityService`.  Without a `store`, one is made with
    `default_mailbox` (`/me`) and `mailboxes` as the mailboxes that exist.
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
        mailboxes: tuple[str, ...] = (),
        startup_timeout_s: float = 10.0,
        tls: bool = False,
        tls_dir: Path | None = None,
        identity: IdentityConfig | IdentityService | None = None,
    ) -> None:
        if store is None:
            store = _store(default_mailbox, state_path, mailboxes)
        self.store = store
        self.identity = _identity(identity, tls_dir if tls else None, state_path)
        self.app = create_sandbox_app(
            self.store, faults, token=token, state_path=state_path, identity=self.identity
        )
        self.tls = tls
        self._tls_dir = tls_dir
        self._temporary_tls_dir: Path | None = None
        self._tls_files: TlsFiles | None = None
        self.host = host
        self._requested_port = port
        self._startup_timeout_s = startup_timeout_s
        self._background: BackgroundServer | None = None
        self.port = 0

    @property
    def context(self) -> SandboxContext:
        ctx: SandboxContext = self.app.state.sandbox
        return ctx

    @property
    def root_url(self) -> str:
        """`https://127.0.0.1:PORT` (or `http://` without TLS); IPv6 hosts in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.root_url}/v1.0"

    @property
    def admin_url(self) -> str:
        return f"{self.root_url}/_sandbox"

    def authority(self, tenant: str = "organizations") -> str:
        """The msal authority for `tenant` (`organizations`, `common`, the tenant id, a domain)."""
        return f"{self.root_url}/{tenant}"

    @property
    def ca_path(self) -> Path:
        """The CA certificate file to trust; only with `tls=True`, after `start()`."""
        if self._tls_files is None:
            raise RuntimeError("the sandbox serves no TLS (pass tls=True and start it first)")
        return self._tls_files.ca_path

    def _make_tls_files(self) -> TlsFiles | None:
        if not self.tls:
            return None
        directory = self._tls_dir
        if directory is None:
            directory = self._temporary_tls_dir = Path(tempfile.mkdtemp(prefix="c365-tls-"))
        self._tls_files = ensure_tls_files(directory, [self.host])
        return self._tls_files

    def start(self) -> None:
        """Bind, start serving in a daemon thread, and wait until uvicorn is ready."""
        files = self._make_tls_files()
        self._background = BackgroundServer(
            self.app,
            host=self.host,
            port=self._requested_port,
            name="central365-sandbox",
            ssl_certfile=files.cert_path if files else None,
            ssl_keyfile=files.key_path if files else None,
            startup_timeout_s=self._startup_timeout_s,
        )
        try:
            self._background.start()
        except RuntimeError:
            self.stop()
            raise RuntimeError("the sandbox server did not start") from None
        self.port = self._background.port

    def stop(self) -> None:
        """Ask uvicorn to exit (runs the lifespan shutdown, which saves the state) and wait."""
        if self._background is not None:
            self._background.stop()
            self._background = None
        if self._temporary_tls_dir is not None:
            shutil.rmtree(self._temporary_tls_dir, ignore_errors=True)
            self._temporary_tls_dir = self._tls_files = None

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
