"""`open_service` over the in-process sandbox: a plan, the label, a transport left open."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from central365.core.errors import ConfigError
from central365.core.model import State
from central365.graph import StaticTokenAuth
from central365.mailstore.store import SandboxStore, seed_folder
from central365.sandbox.app import create_sandbox_app
from central365.sources import write_csv
from central365.wiring.connection import Central, Connection, SignIn, SignInMode
from central365.wiring.open import mailbox_identity, open_mailbox, open_service
from tests.graph.asgi_sync import SyncASGITransport

MAILBOX = "alice@contoso.test"


class CountingTransport(httpx.BaseTransport):
    """The sandbox in-process, remembering whether anyone closed it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def transport() -> object:
    store = SandboxStore(default_mailbox=MAILBOX)
    seed_folder(store, MAILBOX, "Central Contacts", [])
    inner = SyncASGITransport(create_sandbox_app(store))
    yield CountingTransport(inner)
    inner.close()


def connection(central: Central | None, label: str | None = None) -> Connection:
    return Connection(
        central=central,
        sign_in=SignIn(SignInMode.SANDBOX, static_token="t"),
        mailbox="me",
        label=label,
        graph_url="http://sandbox.test/v1.0",
    )


def test_a_connection_opens_a_service_that_plans(
    tmp_path: Path, transport: CountingTransport
) -> None:
    path = tmp_path / "central.csv"
    write_csv(
        path,
        [
            {
                "id": "1",
                "status": "active",
                "first_name": "Ann",
                "last_name": "Lee",
                "email": "ann@contoso.com",
            }
        ],
    )
    opened = connection(Central(f"csv:{path}"), label=MAILBOX)
    with open_service(opened, StaticTokenAuth("t"), transport=transport) as service:
        report = service.plan()
    assert report.mailbox == MAILBOX  # people see the address, not Graph's `me`
    assert report.plan.counts()[State.NEW] == 1
    assert not transport.closed  # borrowed: the caller's to close


def test_without_a_label_the_mailbox_is_graphs_name(transport: CountingTransport) -> None:
    auth = StaticTokenAuth("t")
    with open_mailbox(connection(None), auth, transport=transport) as mailbox:
        assert [f.display_name for f in mailbox.folders()] == ["Central Contacts"]
        assert mailbox.name == "me"
    assert mailbox_identity(connection(None), auth) == "me"
    assert mailbox_identity(connection(None, label=MAILBOX), auth) == MAILBOX


def test_a_service_needs_a_central_source(transport: CountingTransport) -> None:
    with (
        pytest.raises(ConfigError, match="No Central source"),
        open_service(connection(None), StaticTokenAuth("t"), transport=transport),
    ):
        pass
