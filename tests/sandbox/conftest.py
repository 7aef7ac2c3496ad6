"""Fixtures for the sandbox tests: a store on a fake clock and clients that talk to it in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from central365.mailstore import ids
from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.context import SandboxContext
from central365.sandbox.faults import FaultConfig
from central365.sandbox.transport import InProcessTransport

ROOT = "http://sandbox.test"
BASE = f"{ROOT}/v1.0"
AUTH = {"Authorization": "Bearer test-token"}
MAILBOX = "demo@contoso.test"
#: A well-formed id that names nothing (a malformed one is a 400, not a 404).
UNKNOWN_ID = ids.regular_id("nobody@contoso.test", "contact", 1)


class FakeClock:
    """Each reading is one second after the previous one, from a fixed start."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> SandboxStore:
    return SandboxStore(clock=clock)


@pytest.fixture
def app(store: SandboxStore) -> Starlette:
    return create_sandbox_app(store, FaultConfig())


def ctx_of(app: Starlette) -> SandboxContext:
    ctx: SandboxContext = app.state.sandbox
    return ctx


@pytest.fixture
def make_client() -> Iterator[Callable[..., httpx.Client]]:
    """Build clients over the in-process transport; all are closed after the test."""
    made: list[httpx.Client] = []

    def make(
        app: Starlette, base_url: str = BASE, auth: bool = True, timeout: float = 5.0
    ) -> httpx.Client:
        headers = AUTH if auth else {}
        client = httpx.Client(
            transport=InProcessTransport(app), base_url=base_url, headers=headers, timeout=timeout
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(app: Starlette, make_client: Callable[..., httpx.Client]) -> httpx.Client:
    return make_client(app)


@pytest.fixture
def admin(app: Starlette, make_client: Callable[..., httpx.Client]) -> httpx.Client:
    return make_client(app, base_url=f"{ROOT}/_sandbox", auth=False)


@pytest.fixture
def folder_id(client: httpx.Client) -> str:
    response = client.post("/me/contactFolders", json={"displayName": "CRM"})
    assert response.status_code == 201
    fid: str = response.json()["id"]
    return fid


def contact_body(i: int, **extra: object) -> dict[str, object]:
    return {
        "givenName": f"Given{i}",
        "surname": f"Surname{i}",
        "emailAddresses": [{"address": f"person{i}@example.com", "name": f"Given{i}"}],
        **extra,
    }
