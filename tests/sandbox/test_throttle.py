"""Outlook's throttling model: 4 concurrent requests per mailbox, batches' slots, the budget."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx

from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.faults import FaultConfig, FaultInjector, MailboxThrottle
from tests.sandbox.conftest import AUTH, BASE, contact_body

JSON = {"Content-Type": "application/json"}
Call = tuple[str, str, Any]  # method, url, json body


async def _send(client: httpx.AsyncClient, call: Call, delay_s: float) -> httpx.Response:
    await asyncio.sleep(delay_s)
    method, url, body = call
    return await client.request(method, url, json=body)


def run_concurrently(
    app: Any, calls: list[Call], delays: list[float] | None = None
) -> list[httpx.Response]:
    """Send every call at once (or after its delay) over one async in-process client."""

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=AUTH) as client:
            waits = delays or [0.0] * len(calls)
            return list(
                await asyncio.gather(
                    *(_send(client, c, d) for c, d in zip(calls, waits, strict=True))
                )
            )

    return asyncio.run(main())


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def batch_call(n: int, sequential: bool = False, url: str = "/me/contacts") -> Call:
    requests = []
    for i in range(n):
        member: dict[str, Any] = {"id": str(i), "method": "GET", "url": url}
        if sequential and i:
            member["dependsOn"] = [str(i - 1)]
        requests.append(member)
    return ("POST", "/$batch", {"requests": requests})


def inner_statuses(response: httpx.Response) -> list[int]:
    answers = sorted(response.json()["responses"], key=lambda r: int(r["id"]))
    return [a["status"] for a in answers]


GET = ("GET", "/me/contacts", None)


def test_five_concurrent_requests_on_one_mailbox_one_is_throttled() -> None:
    app = create_sandbox_app(SandboxStore(), FaultConfig(latency_ms=150))
    responses = run_concurrently(app, [GET] * 6)
    assert statuses(responses) == {200: 4, 429: 2}
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert throttled.json()["error"]["message"] == (
        "Application is over its MailboxConcurrency limit."
    )
    assert app.state.sandbox.stats.throttled == 2
    assert app.state.sandbox.faults.throttle.peak_in_flight == {"demo@contoso.test": 4}


def test_mailboxes_do_not_affect_each_other() -> None:
    store = SandboxStore(mailboxes=("a@contoso.test", "b@contoso.test"))
    app = create_sandbox_app(store, FaultConfig(latency_ms=150))
    calls = [("GET", f"/users/{who}@contoso.test/contacts", None) for who in ["a", "b"] * 4]
    assert statuses(run_concurrently(app, calls)) == {200: 8}


def test_throttle_can_be_switched_off() -> None:
    config = FaultConfig.from_options(latency_ms=100, throttle=False)
    app = create_sandbox_app(SandboxStore(), config)
    assert statuses(run_concurrently(app, [GET] * 8)) == {200: 8}


def test_an_unordered_batch_alone_runs_entirely() -> None:
    app = create_sandbox_app(SandboxStore(), FaultConfig(latency_ms=50))
    (response,) = run_concurrently(app, [batch_call(20)])
    assert inner_statuses(response) == [200] * 20


def test_an_unordered_batch_beside_other_requests_gets_inner_429s() -> None:
    app = create_sandbox_app(SandboxStore(), FaultConfig(latency_ms=200))
    # two plain requests hold 2 slots; the batch wants 4 and gets 2: in each wave of 4,
    # the members beyond the 2 granted slots are throttled.
    plain_1, plain_2, batch = run_concurrently(
        app, [GET, GET, batch_call(8)], delays=[0.0, 0.0, 0.05]
    )
    assert plain_1.status_code == plain_2.status_code == 200
    assert batch.status_code == 200
    assert inner_statuses(batch) == [200, 200, 429, 429, 200, 200, 429, 429]
    throttled = next(a for a in batch.json()["responses"] if a["status"] == 429)
    assert throttled["headers"]["Retry-After"] == "1"
    assert throttled["body"]["error"]["code"] == "ApplicationThrottled"


def test_a_batch_holds_slots_against_later_requests() -> None:
    app = create_sandbox_app(SandboxStore(), FaultConfig(latency_ms=200))
    batch, plain = run_concurrently(app, [batch_call(6), GET], delays=[0.0, 0.05])
    assert inner_statuses(batch) == [200] * 6
    assert plain.status_code == 429


def test_a_sequential_batch_holds_one_slot() -> None:
    app = create_sandbox_app(SandboxStore(), FaultConfig(latency_ms=200))
    ok = run_concurrently(app, [GET, GET, GET, batch_call(5, sequential=True)], [0, 0, 0, 0.05])
    assert inner_statuses(ok[3]) == [200] * 5
    full = run_concurrently(app, [GET] * 4 + [batch_call(3, sequential=True)], [0] * 4 + [0.05])
    assert inner_statuses(full[4]) == [429, 424, 424]


def test_latency_is_per_http_request() -> None:
    app = create_sandbox_app(SandboxStore(), FaultConfig(latency_ms=100))
    started = time.perf_counter()
    (response,) = run_concurrently(app, [batch_call(5, sequential=True)])
    elapsed = time.perf_counter() - started
    assert inner_statuses(response) == [200] * 5
    assert 0.1 <= elapsed < 0.4


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_request_budget_per_window() -> None:
    clock = FakeMonotonic()
    injector = FaultInjector(
        FaultConfig(window_requests=3, window_s=60), throttle=MailboxThrottle(clock=clock)
    )
    app = create_sandbox_app(SandboxStore(mailboxes=("other@contoso.test",)), injector)
    first = run_concurrently(app, [GET] * 3)
    assert statuses(first) == {200: 3}
    clock.now += 20
    (over,) = run_concurrently(app, [GET])
    assert over.status_code == 429 and over.headers["Retry-After"] == "40"
    assert over.json()["error"]["code"] == "ApplicationThrottled"
    (other,) = run_concurrently(app, [("GET", "/users/other@contoso.test/contacts", None)])
    assert other.status_code == 200
    clock.now += 40
    (batch,) = run_concurrently(app, [batch_call(4)])
    assert inner_statuses(batch) == [200, 200, 200, 429]  # members count one each


def test_writes_in_a_batch_are_throttled_like_reads(store: SandboxStore) -> None:
    app = create_sandbox_app(store, FaultConfig(latency_ms=200))
    folder = store.create_folder("demo@contoso.test", "CRM")
    requests = [
        {
            "id": str(i),
            "method": "POST",
            "url": f"/me/contactFolders/{folder['id']}/contacts",
            "headers": JSON,
            "body": contact_body(i),
        }
        for i in range(4)
    ]
    *_, batch = run_concurrently(
        app, [GET, GET, GET, ("POST", "/$batch", {"requests": requests})], [0, 0, 0, 0.05]
    )
    assert inner_statuses(batch) == [201, 429, 429, 429]
    assert len(store.list_contacts("demo@contoso.test", folder["id"])) == 1
