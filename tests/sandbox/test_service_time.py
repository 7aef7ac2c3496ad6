"""The mailbox's service time (`op_ms`): what each operation holds, and the budget window.

Time is a fake: the context's `sleep` advances a fake monotonic clock and notes, for each
wait, how many slots the mailbox had in use, so the slot rules are checked without sleeping.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from central365.cli import app as cli_app
from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.context import SandboxContext, ServiceTimer
from central365.sandbox.faults import FaultConfig, FaultInjector, MailboxThrottle
from tests.sandbox.conftest import MAILBOX, contact_body
from tests.sandbox.test_throttle import (
    GET,
    FakeMonotonic,
    batch_call,
    inner_statuses,
    run_concurrently,
    statuses,
)


class FakeTime:
    """A monotonic clock that only moves when the sandbox sleeps; each wait is noted with the
    slots in use at that moment."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.now = 0.0
        self.waits: list[tuple[float, int]] = []
        self._ctx = ctx

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append((round(seconds, 6), self._ctx.faults.throttle.in_flight(MAILBOX)))
        self.now += seconds


def sandbox(config: FaultConfig, store: SandboxStore | None = None) -> tuple[Any, FakeTime]:
    app = create_sandbox_app(store or SandboxStore(), config)
    ctx: SandboxContext = app.state.sandbox
    fake = FakeTime(ctx)
    ctx.sleep, ctx.monotonic = fake.sleep, fake.monotonic
    return app, fake


def creates(folder_id: str, n: int, chained: bool) -> tuple[str, str, Any]:
    members: list[dict[str, Any]] = []
    for i in range(n):
        member: dict[str, Any] = {
            "id": str(i),
            "method": "POST",
            "url": f"/me/contactFolders/{folder_id}/contacts",
            "headers": {"Content-Type": "application/json"},
            "body": contact_body(i),
        }
        if chained and i:
            member["dependsOn"] = [str(i - 1)]
        members.append(member)
    return ("POST", "/$batch", {"requests": members})


def test_a_chain_runs_its_members_one_after_another_in_one_slot() -> None:
    store = SandboxStore()
    folder = store.create_folder(MAILBOX, "CRM")
    app, fake = sandbox(FaultConfig(latency_ms=50, op_ms=20), store)
    (batch,) = run_concurrently(app, [creates(folder["id"], 5, chained=True)])
    assert inner_statuses(batch) == [201] * 5
    assert fake.waits == [(0.05, 1)] + [(0.02, 1)] * 5  # the round trip, then 5 operations
    assert fake.now == pytest.approx(0.15)
    assert len(store.list_contacts(MAILBOX, folder["id"])) == 5


def test_an_unordered_batch_runs_four_at_once() -> None:
    app, fake = sandbox(FaultConfig(latency_ms=50, op_ms=20))
    (batch,) = run_concurrently(app, [batch_call(10)])
    assert inner_statuses(batch) == [200] * 10
    assert fake.waits == [(0.05, 4)] + [(0.02, 4)] * 3  # ⌈10 / 4⌉ waves
    assert fake.now == pytest.approx(0.11)


def test_a_plain_request_holds_one_slot_for_the_round_trip_and_one_operation() -> None:
    app, fake = sandbox(FaultConfig(latency_ms=50, op_ms=20))
    (answer,) = run_concurrently(app, [GET])
    assert answer.status_code == 200
    assert fake.waits == [(0.05, 1), (0.02, 1)]


def test_requests_outside_a_mailbox_spend_no_service_time() -> None:
    app, fake = sandbox(FaultConfig(op_ms=20))
    (answer,) = run_concurrently(app, [("POST", "/$batch", {"requests": "nope"})])
    assert answer.status_code == 400
    assert fake.waits == []


def test_throttled_members_spend_no_service_time() -> None:
    app, fake = sandbox(FaultConfig(op_ms=20))
    throttle = app.state.sandbox.faults.throttle
    assert throttle.acquire(MAILBOX, 3, 4) == 3  # three slots busy elsewhere
    (batch,) = run_concurrently(app, [batch_call(8)])
    assert inner_statuses(batch) == [200, 429, 429, 429, 200, 429, 429, 429]
    assert fake.now == pytest.approx(0.04)  # two waves with one member each
    (chain,) = run_concurrently(app, [batch_call(4, sequential=True)])
    assert inner_statuses(chain) == [200] * 4  # the one free slot is enough for a chain


def test_without_service_time_nothing_waits() -> None:
    app, fake = sandbox(FaultConfig())
    run_concurrently(app, [batch_call(20), batch_call(3, sequential=True), GET])
    assert fake.waits == []


def test_the_timer_does_not_add_up_the_overshoot_of_its_sleeps() -> None:
    now = [0.0]
    waits: list[float] = []

    async def late_sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        now[0] += seconds + 0.005  # every sleep wakes 5 ms late

    async def chain() -> None:
        timer = ServiceTimer(0.02, late_sleep, lambda: now[0])
        for _ in range(3):
            await timer.one_more()

    asyncio.run(chain())
    assert waits == [0.02, 0.015, 0.015]
    assert now[0] == pytest.approx(0.065)  # 3 operations + one overshoot, not three


def test_batch_members_count_against_the_budget_and_the_envelope_does_not() -> None:
    clock = FakeMonotonic()
    injector = FaultInjector(
        FaultConfig(window_requests=5, window_s=30), throttle=MailboxThrottle(clock=clock)
    )
    app = create_sandbox_app(SandboxStore(), injector)
    (batch,) = run_concurrently(app, [batch_call(5)])
    assert inner_statuses(batch) == [200] * 5  # 5 members, the outer $batch not counted
    clock.now += 10
    (chain,) = run_concurrently(app, [batch_call(3, sequential=True)])
    assert inner_statuses(chain) == [429, 424, 424]
    over = chain.json()["responses"][0]
    assert over["headers"]["Retry-After"] == "20"  # the first 5 leave the window at +30 s
    clock.now += 20
    assert statuses(run_concurrently(app, [GET] * 4)) == {200: 4}


def test_op_ms_is_checked_and_set_from_options() -> None:
    with pytest.raises(ValueError, match="op_ms must be >= 0"):
        FaultConfig(op_ms=-1)
    assert FaultConfig.from_options(op_ms=20).op_ms == 20
    assert FaultConfig().updated({"op_ms": 7}).op_ms == 7


def test_the_command_line_refuses_a_negative_service_time_in_one_sentence() -> None:
    result = CliRunner().invoke(cli_app, ["sandbox", "--op-ms", "-1", "--port", "1"])
    assert result.exit_code != 0
    assert "op_ms must be >= 0" in result.output
    assert "Graph sandbox on" not in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.e2e
def test_the_command_line_sets_service_time_budget_and_window() -> None:
    port = _free_port()
    options = ["--op-ms", "20", "--latency-ms", "5", "--budget", "600", "--window", "30"]
    process = subprocess.Popen(
        [sys.executable, "-m", "central365", "sandbox", "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        faults: dict[str, Any] = {}
        while time.monotonic() < deadline and not faults:
            try:
                faults = httpx.get(f"http://127.0.0.1:{port}/_sandbox/faults").json()
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert faults["op_ms"] == 20 and faults["latency_ms"] == 5
    assert faults["window_requests"] == 600 and faults["window_s"] == 30
