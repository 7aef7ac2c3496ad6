"""End-to-end tier: the `central365` command in a subprocess against a sandbox on a real port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from central365.sandbox.server import SandboxServer

MAILBOX = "e2e@contoso.test"
FOLDER = "Central Contacts"


@dataclass
class Cli:
    """Runs the real command with settings pointing at the test's sandbox and Central."""

    sandbox: SandboxServer
    env: dict[str, str]
    cwd: Path

    def run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "central365", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
            check=False,
        )

    def json(self, *args: str) -> Any:
        done = self.run(*args, "--json")
        assert done.returncode in (0, 1), done.stderr
        return json.loads(done.stdout)

    def folder_contacts(self, name: str = FOLDER) -> list[dict[str, Any]]:
        store = self.sandbox.store
        (folder,) = [f for f in store.list_folders(MAILBOX) if f["displayName"] == name]
        return store.list_contacts(MAILBOX, folder["id"])

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.sandbox.admin_url, timeout=10)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(default_mailbox=MAILBOX) as server:
        yield server


@pytest.fixture
def make_cli(sandbox: SandboxServer, tmp_path: Path) -> Any:
    def make(central: str, **extra: str) -> Cli:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL365_")}
        env.update(
            {
                "CENTRAL365_CENTRAL": central,
                "CENTRAL365_GRAPH_URL": sandbox.url,
                "CENTRAL365_MAILBOX": MAILBOX,
                "CENTRAL365_FOLDER": FOLDER,
                "CENTRAL365_AUTH": "sandbox",
                "COLUMNS": "200",
            }
        )
        env.update(extra)
        return Cli(sandbox, env, tmp_path)

    return make
