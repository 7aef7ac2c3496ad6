from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from central365.graph.auth import StaticTokenAuth
from central365.graph.client import GraphClient
from central365.graph.throttle import RetryPolicy
from tests.graph.fakegraph import BASE, FakeGraph


class FakeClock:
    """Time that only moves when someone sleeps; sleeps are recorded, never real."""

    EPOCH = 1_800_000_000.0

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def time(self) -> float:
        return self.EPOCH + self.monotonic()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def graph() -> FakeGraph:
    return FakeGraph()


ClientFactory = Callable[..., GraphClient]


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[ClientFactory]:
    opened: list[httpx.Client] = []

    def make(
        handler: Callable[[httpx.Request], httpx.Response],
        mailbox: str = "sync@contoso.com",
        policy: RetryPolicy | None = None,
        auth: httpx.Auth | None = None,
    ) -> GraphClient:
        http = httpx.Client(
            transport=httpx.MockTransport(handler), auth=auth or StaticTokenAuth("t0k")
        )
        opened.append(http)
        return GraphClient(http, BASE, mailbox, policy=policy, clock=clock, jitter=lambda: 0.5)

    yield make
    for http in opened:
        http.close()
