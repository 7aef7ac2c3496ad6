"""`central365 demo`: a demo Central, the sandbox seeded against it, and the plan.

Everything lands in one folder (default `./data/demo`): the Central SQLite database, the
sandbox's state file and a `central365.toml` pointing the CLI at both, so a person can go on
with `central365 --config data/demo/central365.toml sync …` while the demo runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from central365.bootstrap import open_service
from central365.config import AuthMode, Settings
from central365.demo_data import OTHER_FOLDER, build_demo_data, write_sqlite
from central365.model import State
from central365.render import print_plan
from central365.sandbox.server import SandboxServer
from central365.sandbox.store import SandboxStore, seed_folder

DEMO_MAILBOX = "demo@contoso.test"
DEMO_FOLDER = "Central Contacts"
DEMO_TOKEN = "demo-token"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    data_dir: Path = Path("data/demo")
    host: str = "127.0.0.1"
    port: int = 8765
    size: int = 300
    wait: bool = True


def prepare(options: DemoOptions) -> tuple[Path, SandboxStore]:
    """Write the demo database and seed a fresh sandbox store; return the settings file."""
    data = build_demo_data(options.size)
    options.data_dir.mkdir(parents=True, exist_ok=True)
    database = options.data_dir / "central.db"
    write_sqlite(database, data.rows)
    store = SandboxStore(default_mailbox=DEMO_MAILBOX)
    seed_folder(store, DEMO_MAILBOX, DEMO_FOLDER, data.folder_contacts)
    seed_folder(store, DEMO_MAILBOX, OTHER_FOLDER, data.other_folder_contacts)
    config = options.data_dir / "central365.toml"
    config.write_text(
        "# Written by `central365 demo`: the CLI against the demo sandbox.\n"
        f'central = "sqlite:///{database.resolve()}"\n'
        f'graph_url = "http://{options.host}:{options.port}/v1.0"\n'
        f'mailbox = "{DEMO_MAILBOX}"\n'
        f'folder = "{DEMO_FOLDER}"\n'
        'auth = "sandbox"\n'
        f'sandbox_token = "{DEMO_TOKEN}"\n',
        encoding="utf-8",
    )
    return config, store


def run_demo(console: Console, options: DemoOptions) -> None:
    config, store = prepare(options)
    state = options.data_dir / "sandbox-state.json"
    with SandboxServer(store, host=options.host, port=options.port, state_path=state) as sandbox:
        settings = Settings(
            central=f"sqlite:///{(options.data_dir / 'central.db').resolve()}",
            graph_url=sandbox.url,
            mailbox=DEMO_MAILBOX,
            folder=DEMO_FOLDER,
            auth=AuthMode.SANDBOX,
        )
        with open_service(settings) as service:
            report = service.plan()
        shown = frozenset({State.UPDATE, State.NON_ACTIONABLE})
        print_plan(console, report, shown)
        console.print(
            f"\nThe table lists the records that need an update or cannot be synchronised; "
            f"{report.plan.count(State.NEW)} are new to Office 365 and "
            f"{report.plan.count(State.UNCHANGED)} need no update.",
        )
        new_key = next((i.key for i in report.plan.items if i.state is State.NEW), "ID")
        console.print(
            f"\nThe Graph sandbox is running at {sandbox.url} (mailbox {DEMO_MAILBOX}).\n"
            "From another terminal, in this folder:\n"
            f"  .venv/bin/central365 --config {config} plan --state new\n"
            f"  .venv/bin/central365 --config {config} sync --key {new_key} --yes\n"
            f"  .venv/bin/central365 --config {config} sync --all\n"
            f"  .venv/bin/central365 --config {config} folders\n",
            highlight=False,
        )
        if not options.wait:
            return
        console.print("Press Ctrl-C to stop the sandbox.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("Stopped.")
