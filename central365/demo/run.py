"""`central365 demo`: a demo Central, the sandbox (Graph + sign-in, over TLS) and the homepage.

Everything lands in one folder (default `./data/demo`): the Central SQLite database, the
sandbox's state, its local certificate authority, the homepage's own database, and a
`central365.toml` that points the CLI at the same sandbox (app-only sign-in through msal, the
production code path), so a person can use the homepage and the CLI side by side.  The
sandbox's directory has a Staff group of a few mailboxes, and the settings file its target.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr
from rich.console import Console

from central365.appdb import (
    AlertMailRepository,
    Database,
    SecretBox,
    migrate,
    open_database,
)
from central365.config import Settings
from central365.demo.data import OTHER_FOLDER, build_demo_data, write_sqlite
from central365.demo.history import (
    DELETED_IN_OUTLOOK,
    EDITED_IN_OUTLOOK,
    EMAIL_CHANGED,
    LEFT_CENTRAL,
    DemoHistory,
    DemoHistoryError,
    play_history,
)
from central365.demo.staff import demo_directory, staff_target, staff_target_toml
from central365.engine.jobs import EmbeddedJobs
from central365.engine.schedules import TargetJobs
from central365.mailstore.store import SandboxStore, seed_folder
from central365.private_files import private_folder, write_private_text
from central365.sandbox.identity.registry import DEFAULT_TENANT_ID
from central365.sandbox.server import SandboxServer
from central365.serving import BackgroundServer, bind_socket
from central365.wiring.alerting import alert_admins
from central365.wiring.connection import SignInMode
from central365.wiring.jobs import target_jobs

DEMO_MAILBOX = "demo@contoso.test"
DEMO_USER = "Demo User"
DEMO_FOLDER = "Central Contacts"
DEMO_CLIENT_ID = "central365-demo"
DEMO_CLIENT_SECRET = "demo-secret"  # the sandbox's demo app registration, not a real secret
MIN_SIZE_FOR_HISTORY = 100  # the played past uses records 1074-1078


@dataclass(frozen=True, slots=True)
class DemoOptions:
    data_dir: Path = Path("data/demo")
    host: str = "127.0.0.1"
    port: int = 8000  # the homepage
    sandbox_port: int = 8765
    size: int = 300
    wait: bool = True
    #: Play an earlier run and later edits (`demo.history`); off for tests that count states.
    history: bool = False


def seeded_store(size: int) -> tuple[SandboxStore, list[dict[str, str]]]:
    """A sandbox store whose demo mailbox holds the demo folders, and the Central rows."""
    data = build_demo_data(size)
    store = SandboxStore(default_mailbox=DEMO_MAILBOX)
    seed_folder(store, DEMO_MAILBOX, DEMO_FOLDER, data.folder_contacts)
    seed_folder(store, DEMO_MAILBOX, OTHER_FOLDER, data.other_folder_contacts)
    return store, data.rows


class DemoStack:
    """The sandbox and the homepage on real ports, wired together; a context manager.

    Starts fresh every time: the Central database, the mailboxes and the homepage's database
    are rebuilt (the sandbox's CA is kept, so a browser that trusted it still does).
    """

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        data_dir = options.data_dir.resolve()
        self.data_dir = data_dir
        store, rows = seeded_store(options.size)
        private_folder(data_dir)
        self.database = data_dir / "central.db"
        write_sqlite(self.database, rows)
        for stale in (
            "sandbox-state.json",  # what older versions named the sandbox's state
            "sandbox-state.json-wal",
            "sandbox-state.json-shm",
            "sandbox-state.db",
            "sandbox-state.db-wal",
            "sandbox-state.db-shm",
            "central365.db",
            "central365.db-wal",
            "central365.db-shm",
        ):
            (data_dir / stale).unlink(missing_ok=True)
        self.sandbox = SandboxServer(
            store,
            host=options.host,
            port=options.sandbox_port,
            state_path=data_dir / "sandbox-state.db",  # SQLite (docs/sandbox.md)
            tls=True,
            tls_dir=data_dir / "tls",
            identity=demo_directory(),
        )
        self.web: BackgroundServer | None = None
        self.sign_in_pages: BackgroundServer | None = None
        self.settings: Settings | None = None
        self.history: DemoHistory | None = None
        self.history_error: str | None = None
        self.app_database: Database | None = None
        self.jobs: TargetJobs | None = None

    @property
    def homepage_url(self) -> str:
        assert self.settings is not None, "start the demo first"
        return self.settings.public_url

    def start(self) -> None:
        from central365.web import create_app  # the web stack loads only when serving

        self.sandbox.start()
        # The sign-in pages also on plain http, for the person's browser (see browser_root).
        self.sign_in_pages = BackgroundServer(
            self.sandbox.app,
            host=self.options.host,
            port=self.options.sandbox_port + 1 if self.options.sandbox_port else 0,
            name="central365-sign-in",
            lifespan=False,
        )
        self.sign_in_pages.start()
        self.sandbox.identity.browser_root = f"http://{self.options.host}:{self.sign_in_pages.port}"
        sock = bind_socket(self.options.host, self.options.port)
        port = sock.getsockname()[1]
        self.settings = Settings(
            central=f"sqlite:///{self.database}",
            folder=DEMO_FOLDER,
            auth=SignInMode.DEVICE,  # the homepage signs people in; their own mailbox is the target
            tenant_id=DEFAULT_TENANT_ID,
            client_id=DEMO_CLIENT_ID,
            client_secret=SecretStr(DEMO_CLIENT_SECRET),
            authority_host=self.sandbox.root_url,
            graph_url=self.sandbox.url,
            ca_bundle=self.sandbox.ca_path,
            data_dir=self.data_dir,
            public_url=f"http://{self.options.host}:{port}",
            targets=(staff_target(DEMO_FOLDER),),
        )
        app = create_app(
            self.settings, database=self._open_app_database(), target_jobs=self._jobs()
        )
        self.web = BackgroundServer(app, name="central365-web", sock=sock)
        self.web.start()
        self._write_cli_settings()
        if self.options.history and self.options.size >= MIN_SIZE_FOR_HISTORY:
            try:
                self.history = play_history(
                    self.data_dir / "central365.toml",
                    self.database,
                    self.sandbox.store,
                    DEMO_MAILBOX,
                    DEMO_FOLDER,
                )
            except (DemoHistoryError, OSError, subprocess.SubprocessError) as exc:
                self.history_error = str(exc)

    def _open_app_database(self) -> Database:
        """The homepage's database, opened here so the targets' jobs share it."""
        assert self.settings is not None
        migrate(self.settings.app_database_url)
        self.app_database = open_database(self.settings.app_database_url)
        return self.app_database

    def _jobs(self) -> TargetJobs:
        """The Staff target's jobs: people sign in to the homepage, the jobs as the demo app
        (client credentials, like the demo's CLI), each Staff mailbox a job on the pool."""
        assert self.settings is not None and self.app_database is not None
        as_the_app = self.settings.model_copy(
            update={"auth": SignInMode.APP, "mailbox": DEMO_MAILBOX}
        )
        alerts = AlertMailRepository(self.app_database, SecretBox.from_settings(self.settings))
        self.jobs = target_jobs(
            as_the_app, self.app_database, on_finished=alert_admins(self.settings, alerts)
        )
        return self.jobs

    def _write_cli_settings(self) -> None:
        write_private_text(  # it holds the demo app's client secret
            self.data_dir / "central365.toml",
            "# Written by `central365 demo`: the CLI against the demo sandbox, signed in as the\n"
            "# demo app (client credentials through msal, as against Microsoft).\n"
            f'central = "sqlite:///{self.database}"\n'
            f'graph_url = "{self.sandbox.url}"\n'
            f'authority_host = "{self.sandbox.root_url}"\n'
            f'ca_bundle = "{self.sandbox.ca_path}"\n'
            'auth = "app"\n'
            f'tenant_id = "{DEFAULT_TENANT_ID}"\n'
            f'client_id = "{DEMO_CLIENT_ID}"\n'
            f'client_secret = "{DEMO_CLIENT_SECRET}"\n'
            f'mailbox = "{DEMO_MAILBOX}"\n'
            f'folder = "{DEMO_FOLDER}"\n'
            "# The homepage's database: the CLI takes the same folder lock as its runs.\n"
            f'data_dir = "{self.data_dir}"\n' + staff_target_toml(DEMO_FOLDER),
        )

    def stop(self) -> None:
        if self.web is not None:
            self.web.stop()
            self.web = None
        if isinstance(self.jobs, EmbeddedJobs):
            self.jobs.shutdown(wait=True)
        self.jobs = None
        if self.app_database is not None:
            self.app_database.dispose()
            self.app_database = None
        if self.sign_in_pages is not None:
            self.sign_in_pages.stop()
            self.sign_in_pages = None
        self.sandbox.stop()

    def __enter__(self) -> DemoStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_demo(console: Console, options: DemoOptions) -> None:
    with DemoStack(options) as stack:
        config = stack.data_dir / "central365.toml"
        console.print(
            f"\n[bold]central365 demo[/bold]\n\n"
            f"  Homepage:  {stack.homepage_url}\n"
            f"  Sign in as [bold]{DEMO_USER}[/bold] ({DEMO_MAILBOX}, an administrator) on the "
            "sandbox's sign-in page;\n"
            "  Staff User (no role) and Read Only (no Contacts.ReadWrite) show who may do what.\n"
            f"  The Graph sandbox (Office 365 stand-in) runs at {stack.sandbox.url}.\n\n"
            "The command line works against the same sandbox, from another terminal:\n"
            f"  .venv/bin/central365 --config {config} plan\n"
            f"  .venv/bin/central365 --config {config} sync --state update --yes\n"
            "  and into every mailbox of the Staff group (the target `staff`):\n"
            f"  .venv/bin/central365 --config {config} sync --target staff --yes\n",
            highlight=False,
            soft_wrap=True,
        )
        _print_history(console, stack)
        if not options.wait:
            return
        console.print("Press Ctrl-C to stop the demo.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("Stopped.")


def _print_history(console: Console, stack: DemoStack) -> None:
    """Where the played past shows, or why there is none."""
    if stack.history_error is not None:
        console.print(f"[yellow]No history in this demo: {stack.history_error}[/yellow]\n")
        return
    history = stack.history
    if history is None:
        return
    console.print(
        "What to look at (an earlier run is played first, then edits since):\n"
        f"  History: run {history.run_id} wrote 5 contacts; open it and try "
        "[bold]Undo this run[/bold].\n"
        f"  Requires update: record {EDITED_IN_OUTLOOK} was edited in Outlook since (all three "
        f"values shown); record {EMAIL_CHANGED}'s email changed in Central to "
        f"{history.new_email}, and its contact follows it by its Central anchor.\n"
        f"  Record {DELETED_IN_OUTLOOK}'s contact was deleted in Outlook; record "
        f"{LEFT_CENTRAL} left Central (Only in Office 365).\n"
        "  Settings: lower a guard's threshold (e.g. update at most 1 % of the folder) and the "
        "homepage warns above its tabs before anything is written.\n",
        highlight=False,
        soft_wrap=True,
    )
