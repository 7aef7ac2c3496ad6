"""The write path under hostile Graphs: hangs, a dead Graph, long Retry-Afters, lost creates,
chains that keep failing.  Every record ends exactly once, nothing is created twice, and the run
never outlives its deadline.  All on the fake clock: no test sleeps for real."""

from __future__ import annotations

import math
from collections import Counter

import httpx
import pytest

from central365.core.model import Outcome, WriteResult
from central365.core.ports import RunLimits
from central365.graph.auth import StaticTokenAuth
from central365.graph.batch import MAILBOX_CONCURRENCY, BatchStrategy
from central365.graph.breaker import BreakerPolicy
from central365.graph.client import GraphClient
from central365.graph.folder import GraphFolder
from central365.graph.throttle import RetryPolicy
from tests.graph.conftest import ClientFactory, FakeClock
from tests.graph.fakegraph import BASE, FakeGraph, odata_error
from tests.graph.test_folder import INFO, create, run, update

NEVER = BreakerPolicy(seconds=math.inf, rounds=10_000)


class Hang:
    """A Graph that never answers: each request takes its whole read timeout (on the fake
    clock), then times out, like a SIGSTOP'd server."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, float]] = []  # (fake time sent, its read timeout)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        read = request.extensions["timeout"]["read"]
        self.sent.append((self.clock.monotonic(), read))
        self.clock.sleep(read)
        raise httpx.ReadTimeout("no answer", request=request)


class Waits:
    def __init__(self) -> None:
        self.seen: list[tuple[str, float]] = []

    def __call__(self, reason: str, seconds: float) -> None:
        self.seen.append((reason, seconds))


def limited(
    make_client: ClientFactory,
    handler: httpx.MockTransport | FakeGraph | Hang,
    deadline: float,
    *,
    breaker: BreakerPolicy | None = None,
    policy: RetryPolicy | None = None,
    waits: Waits | None = None,
    strategy: BatchStrategy = BatchStrategy.SEQUENTIAL_CHAINS,
) -> GraphFolder:
    client = make_client(handler, policy=policy)
    folder = GraphFolder(client, INFO, strategy=strategy, breaker=breaker)
    folder.limit_run(RunLimits(deadline, waits))
    return folder


def assert_each_once(results: list[WriteResult], count: int) -> None:
    assert sorted(int(r.key) for r in results) == list(range(count))


# -- a Graph that hangs -------------------------------------------------------------------------


def test_a_hanging_graph_ends_the_run_by_its_deadline_with_every_record_accounted(
    clock: FakeClock,
) -> None:
    hang = Hang(clock)
    http = httpx.Client(
        transport=httpx.MockTransport(hang), auth=StaticTokenAuth("t"), timeout=30.0
    )
    client = GraphClient(http, BASE, "sync@contoso.com", clock=clock, jitter=lambda: 0.5)
    # one batch at a time: the fake clock adds up the timeouts of requests sent together
    folder = GraphFolder(client, INFO, strategy=BatchStrategy.ONE_UNORDERED, breaker=NEVER)
    folder.limit_run(RunLimits(100))
    results, called = run(folder, [create(i) for i in range(45)])

    assert_each_once(results, 45)
    assert len(called) == 45
    assert all(r.outcome is Outcome.SKIPPED for r in results)
    assert all("(CENTRAL365_RUN_DEADLINE)" in (r.error or "") for r in results)
    # every create was sent and lost: the next plan must look for it, not trust "skipped"
    assert all("may already be in the folder" in (r.error or "") for r in results)
    # no request was allowed to outlive the deadline: the last one's timeout was cut to fit
    assert all(sent + read <= 100 for sent, read in hang.sent)
    assert any(read < 30 for _, read in hang.sent)
    assert clock.monotonic() <= 100
    http.close()


def test_the_breaker_stops_a_run_against_a_dead_graph_long_before_the_deadline(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    hang = Hang(clock)
    folder = limited(make_client, hang, deadline=3600)
    results, _ = run(folder, [create(i) for i in range(5)] + [update(9, "C9")])

    assert [r.outcome for r in results] == [Outcome.SKIPPED] * 6
    assert all(
        (r.error or "").startswith("Office 365 answered nothing but errors or timeouts")
        for r in results
    )
    # 60 s of hung rounds (5 s timeouts plus backoff), not an hour
    assert 60 <= clock.monotonic() < 120
    assert len(hang.sent) <= 12


def test_the_breaker_does_not_open_while_graph_only_throttles(
    make_client: ClientFactory, graph: FakeGraph, clock: FakeClock
) -> None:
    graph.outer_faults = [httpx.Response(429, headers={"Retry-After": "30"})] * 7
    folder = limited(make_client, graph, deadline=3600, policy=RetryPolicy(max_attempts=10))
    results, _ = run(folder, [create(1), create(2)])
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED]


def test_outer_503s_for_a_while_skip_what_is_left_with_the_reason(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    unavailable = httpx.Response(503, json=odata_error("serviceNotAvailable", "x"))
    graph.outer_faults = [unavailable] * 50
    folder = limited(make_client, graph, deadline=3600, policy=RetryPolicy(max_attempts=20))
    results, _ = run(folder, [create(1), update(2, graph.add("p2@example.com"))])
    assert [r.outcome for r in results] == [Outcome.SKIPPED, Outcome.SKIPPED]
    assert "Office 365 unavailable (503 serviceNotAvailable)" in (results[0].error or "")
    assert graph.contacts and len(graph.contacts) == 1  # nothing created


# -- waiting is visible, and never goes past the deadline ---------------------------------------


def test_a_wait_is_told_to_the_caller_with_its_reason_and_length(
    make_client: ClientFactory, graph: FakeGraph, clock: FakeClock
) -> None:
    graph.outer_faults = [
        httpx.Response(
            429, headers={"Retry-After": "100"}, json=odata_error("TooManyRequests", "x")
        )
    ]
    waits = Waits()
    folder = limited(make_client, graph, deadline=3600, waits=waits)
    results, _ = run(folder, [create(1)])
    assert results[0].outcome is Outcome.CREATED
    assert waits.seen == [("throttled (429 TooManyRequests)", 100.0)]
    assert clock.sleeps == [100.0]


def test_a_retry_after_longer_than_the_time_left_ends_the_run_at_once(
    make_client: ClientFactory, graph: FakeGraph, clock: FakeClock
) -> None:
    # The mailbox is throttled, so it answers 429 to each of the two chained batches that may
    # be in flight together (a fake throttling only the first would let the other one write,
    # or not, as the threads happen to run).
    too_long = httpx.Response(
        429, headers={"Retry-After": "100000"}, json=odata_error("TooManyRequests", "x")
    )
    graph.outer_faults = [too_long, too_long]
    waits = Waits()
    folder = limited(make_client, graph, deadline=3600, waits=waits)
    results, called = run(folder, [create(i) for i in range(30)])
    assert len(called) == 30 and all(r.outcome is Outcome.SKIPPED for r in results)
    assert len({r.error for r in results}) == 1  # one reason, whichever batch heard it first
    assert (results[0].error or "").startswith(
        "Office 365 asked us to wait 100000 s (throttled (429 TooManyRequests)), longer than "
        "the 3600 s left before the run's deadline"
    )
    assert clock.sleeps == [] and waits.seen == []  # no sleeping past the deadline
    assert graph.contacts == {}
    # the second batch went only if it was on its way before the 429 came back; nothing after
    assert 1 <= len(graph.seen) <= 2 and len(graph.seen) + len(graph.outer_faults) == 2


def test_long_retry_afters_are_told_then_the_rest_skipped_at_the_deadline(
    make_client: ClientFactory, graph: FakeGraph, clock: FakeClock
) -> None:
    busy = httpx.Response(
        429, headers={"Retry-After": "400"}, json=odata_error("TooManyRequests", "x")
    )
    graph.outer_faults = [busy] * 10
    waits = Waits()
    folder = limited(
        make_client, graph, deadline=1000, waits=waits, policy=RetryPolicy(max_attempts=10)
    )
    results, _ = run(folder, [create(1), create(2)])
    assert waits.seen == [("throttled (429 TooManyRequests)", 400.0)] * 2
    assert [r.outcome for r in results] == [Outcome.SKIPPED] * 2
    assert "than the 200 s left before the run's deadline" in (results[0].error or "")
    assert clock.monotonic() == 800.0


def test_a_deadline_already_passed_sends_nothing(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    folder = limited(make_client, graph, deadline=0.001)
    folder._client.clock.sleep(1)  # type: ignore[attr-defined]
    results, _ = run(folder, [create(1)])
    assert results[0].outcome is Outcome.SKIPPED
    assert graph.seen == []


# -- look-ups of lost creates are batched, and never duplicate ---------------------------------


def test_lost_creates_are_looked_up_in_batches_and_only_absent_ones_sent_again(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    # batch 0..19 is applied and its answer lost; batch 20..39 is lost before Graph saw it
    graph.lose = {"p5@example.com": "after", "p25@example.com": "before"}
    results, called = run(GraphFolder(make_client(graph), INFO), [create(i) for i in range(45)])

    assert [r.outcome for r in results] == [Outcome.CREATED] * 45 and len(called) == 45
    assert Counter(graph.emails()) == Counter(f"p{i}@example.com" for i in range(45))
    assert all(graph.posts_for(f"p{i}@example.com") <= 1 for i in range(45))
    lookups = [s for s in graph.seen if s.inner and s.method == "GET"]
    assert len(lookups) == 40
    lookup_calls = [
        s
        for s in graph.seen
        if s.url.endswith("/$batch") and s.body["requests"][0]["method"] == "GET"
    ]
    assert len(lookup_calls) == math.ceil(40 / 20)
    assert all("dependsOn" not in r for c in lookup_calls for r in c.body["requests"])
    # the ids of contacts found by look-up are the real ones
    by_key = {r.key: r.office365_id for r in results}
    assert graph.contacts[by_key["7"] or ""]["givenName"] == "P7"


def test_a_create_whose_look_ups_keep_failing_gives_up_saying_where_to_look(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    graph.lose = {"p1@example.com": "after"}
    folder = GraphFolder(make_client(graph, policy=RetryPolicy(max_attempts=3)), INFO)
    real = graph._one
    graph._one = lambda m, p, q, b: (  # type: ignore[method-assign]
        (503, {}, odata_error("serviceNotAvailable", "x")) if m == "GET" else real(m, p, q, b)
    )
    results, _ = run(folder, [create(1)])
    assert results[0].outcome is Outcome.FAILED
    assert "look for the contact in the folder" in (results[0].error or "")
    assert graph.posts_for("p1@example.com") == 1


# -- the batch shape that loses least ------------------------------------------------------------


def test_chains_that_keep_failing_turn_into_unordered_batches(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    graph.latency = 0.002
    busy = (429, {"Retry-After": "1"}, odata_error("TooManyRequests", "x"))
    graph.inner_faults = {f"p{i}@example.com": [busy] for i in range(0, 100, 20)}
    results, _ = run(GraphFolder(make_client(graph), INFO), [create(i) for i in range(100)])

    assert [r.outcome for r in results] == [Outcome.CREATED] * 100
    assert len(graph.contacts) == 100
    batches = [s.body["requests"] for s in graph.seen if s.url.endswith("/$batch")]
    first_round, later = batches[:5], batches[5:]
    assert all("dependsOn" in r for b in first_round for r in b[1:])
    assert later and all("dependsOn" not in r for b in later for r in b)
    assert len(batches) == 5 + 5  # 100 writes again, 20 per unordered batch
    assert graph.max_in_flight <= MAILBOX_CONCURRENCY


def test_a_few_failed_dependencies_keep_the_chains(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    busy = (429, {"Retry-After": "1"}, odata_error("TooManyRequests", "x"))
    graph.inner_faults = {"p18@example.com": [busy]}
    run(GraphFolder(make_client(graph), INFO), [create(i) for i in range(40)])
    batches = [s.body["requests"] for s in graph.seen if s.url.endswith("/$batch")]
    assert len(batches) == 3
    assert all("dependsOn" in b[-1] for b in batches if len(b) > 1)


@pytest.mark.parametrize("strategy", list(BatchStrategy))
def test_half_the_answers_failing_still_writes_each_contact_once(
    make_client: ClientFactory, graph: FakeGraph, strategy: BatchStrategy
) -> None:
    """Every second inner answer is a 503 (the write may have happened: look it up) or a
    429; the count of outer requests stays bounded."""
    graph.inner_faults = {
        f"p{i}@example.com": [(503 if i % 4 else 429, {"Retry-After": "1"}, odata_error("x", "x"))]
        for i in range(0, 200, 2)
    }
    folder = GraphFolder(make_client(graph), INFO, strategy=strategy)
    results, _ = run(folder, [create(i) for i in range(200)])
    assert [r.outcome for r in results] == [Outcome.CREATED] * 200
    assert Counter(graph.emails()) == Counter(f"p{i}@example.com" for i in range(200))
    outer = [s for s in graph.seen if not s.inner]
    assert len(outer) <= 40
    assert graph.max_in_flight <= MAILBOX_CONCURRENCY
