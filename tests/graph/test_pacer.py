"""Pacing to the mailbox's request budget: what a 429 teaches, and a push under a small budget."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from central365.core.model import ContactWrite, FolderInfo, Outcome, WriteKind
from central365.core.ports import RunLimits
from central365.graph import BatchStrategy, GraphMailbox, StaticTokenAuth
from central365.graph.client import GraphClient
from central365.graph.errors import DeadlineReached
from central365.graph.pacer import MIN_BUDGET, Budget, Pacer
from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.faults import FaultConfig, FaultInjector, MailboxThrottle
from tests.graph.asgi_sync import SyncASGITransport
from tests.graph.conftest import FakeClock

MAILBOX = "sync@contoso.test"
BASE = "http://sandbox.test/v1.0"


def sent_in_batches(pacer: Pacer, batches: int, every_s: float, size: int = 20) -> None:
    for n in range(batches):
        assert pacer.reserve(size, n * every_s) == n * every_s  # no budget known: no wait


def test_without_a_budget_nothing_waits() -> None:
    pacer = Pacer()
    sent_in_batches(pacer, 100, 0.0)
    assert pacer.budget is None


def test_a_budget_429_teaches_the_window_and_the_budget() -> None:
    pacer = Pacer()
    sent_in_batches(pacer, 30, 0.1)  # 600 units between 0 and 2.9 s
    assert pacer.learn(now=3.0, retry_after=27.0) == Budget(600, 30.0)
    # the next batch goes when the first one has left the window, the one after that too
    # (20 units each), then one batch for each batch that leaves
    assert pacer.reserve(20, 3.0) == pytest.approx(30.0)
    assert pacer.reserve(20, 3.0) == pytest.approx(30.1)
    assert pacer.reserve(20, 3.0) == pytest.approx(30.2)
    assert pacer.reserve(20, 40.0) == pytest.approx(40.0)  # room again by then


def test_refused_units_are_not_counted_into_the_budget() -> None:
    pacer = Pacer()
    sent_in_batches(pacer, 31, 0.1)
    pacer.refund(20)  # the last batch was throttled whole
    assert pacer.learn(now=3.1, retry_after=26.9) == Budget(600, 30.0)


def test_short_retry_afters_and_tiny_budgets_teach_nothing() -> None:
    pacer = Pacer()
    sent_in_batches(pacer, 5, 0.1)
    assert pacer.learn(now=0.5, retry_after=1.0) is None  # a concurrency 429
    small = Pacer()
    small.reserve(MIN_BUDGET - 1, 0.0)
    assert small.learn(now=0.1, retry_after=10.0) is None
    assert Pacer().learn(now=1.0, retry_after=10.0) is None  # nothing sent yet


def test_a_later_429_learns_the_budget_again_in_the_known_window() -> None:
    pacer = Pacer()
    sent_in_batches(pacer, 30, 0.1)
    pacer.learn(now=3.0, retry_after=27.0)
    pacer.refund(100)  # the mailbox counted less than we thought...
    assert pacer.learn(now=3.0, retry_after=27.0) == Budget(500, 30.0)  # ...so: 500 per 30 s


def test_the_window_is_never_thought_longer_than_outlooks() -> None:
    pacer = Pacer()
    sent_in_batches(pacer, 3, 1.0)
    budget = pacer.learn(now=3.0, retry_after=3600.0)
    assert budget is None  # until - 600 s is after every send: nothing known in that window


def test_a_wait_past_the_deadline_sends_nothing_and_is_refunded(clock: FakeClock) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json={"value": []})

    http = httpx.Client(transport=httpx.MockTransport(handler), auth=StaticTokenAuth("t"))
    client = GraphClient(http, BASE, MAILBOX, clock=clock)
    for _ in range(30):
        client.pacer.reserve(20, 0.0)
    client.throttled(["30"], refused=0)
    assert client.pacer.budget == Budget(600, 30.0)
    client.limit_run(RunLimits(deadline_s=10.0))
    with pytest.raises(DeadlineReached, match="request budget"):
        client.get(client.url("/me/contactFolders"))
    assert calls == []
    http.close()


def creates(n: int) -> list[ContactWrite]:
    out = []
    for i in range(n):
        email = f"person{i}@example.com"
        body = {
            "givenName": f"Person{i}",
            "displayName": f"Person{i}",
            "emailAddresses": [{"address": email, "name": f"Person{i}"}],
        }
        out.append(ContactWrite(key=str(i), kind=WriteKind.CREATE, body=body, email=email))
    return out


@pytest.mark.parametrize("strategy", list(BatchStrategy))
def test_a_push_under_a_small_budget_writes_every_contact_once_with_few_429s(
    clock: FakeClock, strategy: BatchStrategy
) -> None:
    """The sandbox's budget and our client share one fake clock: 100 requests per 30 s."""
    store = SandboxStore(default_mailbox=MAILBOX)
    injector = FaultInjector(
        FaultConfig(window_requests=100, window_s=30),
        throttle=MailboxThrottle(clock=clock.monotonic),
    )
    app = create_sandbox_app(store, injector)
    http = httpx.Client(transport=SyncASGITransport(app), auth=StaticTokenAuth("sandbox-token"))
    try:
        folder_id = store.create_folder(MAILBOX, "CRM")["id"]
        client = GraphClient(http, BASE, MAILBOX, clock=clock)
        mailbox = GraphMailbox(client, strategy=strategy)
        results = mailbox.folder(FolderInfo(folder_id, "CRM")).write(creates(400))
        emails = Counter(
            c["emailAddresses"][0]["address"] for c in store.list_contacts(MAILBOX, folder_id)
        )
    finally:
        http.close()
    assert Counter(r.outcome for r in results) == {Outcome.CREATED: 400}
    assert len(emails) == 400 and set(emails.values()) == {1}
    assert client.pacer.budget is not None and client.pacer.budget.units <= 100
    throttled = app.state.sandbox.stats.throttled
    if strategy is BatchStrategy.ONE_UNORDERED:
        # one sender: the fake clock is exact.  The first over-budget batch teaches the
        # budget (its 20 members are refused); after that nothing is refused, and the push
        # ends when the fourth window opens, not a Retry-After per batch later
        assert throttled == 20
        assert clock.sleeps[0] == 30.0 and clock.now == pytest.approx(90.0)
    else:
        # 4 chains in flight: one refused member (and its 424s) per chain at most, at first
        assert throttled <= 8


def test_a_plain_request_throttled_by_the_budget_teaches_it(clock: FakeClock) -> None:
    served: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if len(served) == 25 and clock.now < 30:
            return httpx.Response(429, headers={"Retry-After": "30"}, json={"error": {}})
        served.append(clock.now)
        return httpx.Response(200, json={"value": []})

    http = httpx.Client(transport=httpx.MockTransport(handler), auth=StaticTokenAuth("t"))
    client = GraphClient(http, BASE, MAILBOX, clock=clock)
    url = client.url("/me/contactFolders")
    for _ in range(27):
        client.get(url)
    http.close()
    assert client.pacer.budget == Budget(25, 30.0)  # the refused request was not counted
    assert served[:25] == [0.0] * 25 and served[25:] == [30.0, 30.0]
    assert clock.sleeps == [30.0]  # the 429's pause, then the window had room again
