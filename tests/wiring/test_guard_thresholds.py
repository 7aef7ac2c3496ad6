"""The guards' thresholds reach the service from either front's settings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from central365.appdb import AppSettings, User
from central365.config import Settings
from central365.core.guards import GuardThresholds
from central365.graph import StaticTokenAuth
from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.wiring.connection import Central, Connection, SignIn, SignInMode
from central365.wiring.open import open_service
from central365.wiring.settings import connection_from_app, connection_from_settings, target_of
from tests.graph.asgi_sync import SyncASGITransport

MAILBOX = "alice@contoso.test"
ALICE = User(1, "oid-alice", "tenant-1", "Alice", "alice@contoso.test")


def test_the_command_line_thresholds_are_the_connection_s() -> None:
    settings = Settings(central="csv:x.csv", guard_update_percent=20, guard_min_contacts=2)
    connection = connection_from_settings(settings)
    assert connection.guard_thresholds == GuardThresholds(update_percent=20, min_contacts=2)


def test_the_homepage_s_own_thresholds_win_over_the_start_up_ones() -> None:
    start_up = Settings(central="csv:x.csv", guard_clear_percent=30)
    app = AppSettings(folder_name="Central Contacts", central_url="csv:x.csv")
    target = target_of(app, ALICE)
    assert connection_from_app(start_up, app, target).guard_thresholds == GuardThresholds(
        clear_percent=30
    )
    chosen = GuardThresholds(update_percent=5, min_contacts=1)
    own = replace(app, guard_thresholds=chosen)
    assert connection_from_app(start_up, own, target).guard_thresholds == chosen


def test_open_service_hands_them_to_the_service(tmp_path: Path) -> None:
    store = SandboxStore(default_mailbox=MAILBOX)
    transport = SyncASGITransport(create_sandbox_app(store))
    chosen = GuardThresholds(clear_percent=1, min_contacts=1)
    connection = Connection(
        central=Central(f"csv:{tmp_path / 'central.csv'}"),
        sign_in=SignIn(SignInMode.SANDBOX, static_token="t"),
        graph_url="http://sandbox.test/v1.0",
        guard_thresholds=chosen,
    )
    try:
        with open_service(connection, StaticTokenAuth("t"), transport=transport) as service:
            assert service.guard_thresholds == chosen
    finally:
        transport.close()
