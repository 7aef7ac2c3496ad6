"""The production sign-in path of the CLI (app-only, msal client credentials) against the
sandbox's identity platform over TLS: the same code that runs against Microsoft."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from central365.core.model import CANONICAL_COLUMNS
from central365.sandbox.server import SandboxServer
from central365.sources.csv_source import write_csv

pytestmark = pytest.mark.e2e  # real processes on real ports

MAILBOX = "demo@contoso.test"


@pytest.fixture
def tls_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(tls=True, tls_dir=tmp_path / "tls", default_mailbox=MAILBOX) as server:
        yield server


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "central365", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def app_env(sandbox: SandboxServer, central: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL365_")}
    env.update(
        {
            "CENTRAL365_CENTRAL": f"csv:{central}",
            "CENTRAL365_AUTH": "app",
            "CENTRAL365_TENANT_ID": "contoso.test",
            "CENTRAL365_CLIENT_ID": "central365-demo",
            "CENTRAL365_CLIENT_SECRET": "demo-secret",
            "CENTRAL365_AUTHORITY_HOST": sandbox.root_url,
            "CENTRAL365_GRAPH_URL": sandbox.url,
            "CENTRAL365_CA_BUNDLE": str(sandbox.ca_path),
            "CENTRAL365_MAILBOX": MAILBOX,
            "CENTRAL365_FOLDER": "Central Contacts",
        }
    )
    env.update(extra)
    return env


def test_app_only_sign_in_plans_and_syncs(tls_sandbox: SandboxServer, tmp_path: Path) -> None:
    central = tmp_path / "central.csv"
    rows = [
        {
            "id": "1",
            "status": "active",
            "first_name": "A",
            "last_name": "B",
            "email": "a@example.com",
        }
    ]
    write_csv(central, rows, CANONICAL_COLUMNS)
    env = app_env(tls_sandbox, central)
    done = run(env, "sync", "--all", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 1
    folder = tls_sandbox.store.list_folders(MAILBOX)[0]
    assert [c["givenName"] for c in tls_sandbox.store.list_contacts(MAILBOX, folder["id"])] == ["A"]


def test_a_wrong_secret_is_one_clear_error(tls_sandbox: SandboxServer, tmp_path: Path) -> None:
    central = tmp_path / "central.csv"
    write_csv(central, [], CANONICAL_COLUMNS)
    done = run(app_env(tls_sandbox, central, CENTRAL365_CLIENT_SECRET="wrong"), "plan")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "wrong" not in done.stderr  # the secret is never echoed
    assert "invalid_client" in done.stderr
