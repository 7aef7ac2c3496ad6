from __future__ import annotations

import threading
from urllib.parse import unquote

import httpx
import pytest

from central365.core.mapping import GRAPH_SELECT
from central365.core.model import (
    ALREADY_GONE,
    ContactWrite,
    FolderInfo,
    Outcome,
    WriteKind,
    WriteResult,
)
from central365.graph.batch import IMMUTABLE_ID_PREFER, BatchStrategy
from central365.graph.folder import GraphFolder
from central365.graph.throttle import RetryPolicy
from tests.graph.conftest import ClientFactory, FakeClock
from tests.graph.fakegraph import CONTACTS, FOLDER, FakeGraph, odata_error

INFO = FolderInfo(id=FOLDER, display_name="CRM")


def create(n: int | str) -> ContactWrite:
    email = f"p{n}@example.com"
    body = {"givenName": f"P{n}", "surname": "X", "emailAddresses": [{"address": email}]}
    return ContactWrite(key=str(n), kind=WriteKind.CREATE, body=body, email=email)


def update(n: int, contact_id: str) -> ContactWrite:
    email = f"p{n}@example.com"
    body = {"displayName": f"P{n} Y", "surname": "Y", "emailAddresses": [{"address": email}]}
    return ContactWrite(
        key=str(n), kind=WriteKind.UPDATE, body=body, email=email, contact_id=contact_id
    )


def folder_for(
    make_client: ClientFactory,
    graph: FakeGraph,
    strategy: BatchStrategy = BatchStrategy.SEQUENTIAL_CHAINS,
    policy: RetryPolicy | None = None,
) -> GraphFolder:
    return GraphFolder(make_client(graph, policy=policy), INFO, strategy=strategy)


def run(
    folder: GraphFolder, writes: list[ContactWrite]
) -> tuple[list[WriteResult], list[WriteResult]]:
    called: list[WriteResult] = []
    lock = threading.Lock()

    def on_result(result: WriteResult) -> None:
        with lock:
            called.append(result)

    results = folder.write(writes, on_result)
    return results, called


# -- reads ------------------------------------------------------------------------------------


def test_contacts_selects_fields_pages_through_and_converts(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    for i in range(5):
        graph.add(f"p{i}@example.com", givenName=f"P{i}", changeKey="ck")
    folder = folder_for(make_client, graph)
    contacts = list(folder.contacts())
    assert [c.given_name for c in contacts] == [f"P{i}" for i in range(5)]
    assert contacts[0].email_addresses[0].address == "p0@example.com"
    first = graph.seen[0].url
    assert first.startswith(f"https://graph.test/v1.0{CONTACTS}?")
    assert "$select=" + ",".join(GRAPH_SELECT) in first
    assert first.endswith("&$top=1000")
    assert len(graph.seen) == 3  # page size 2 → 3 pages via nextLink
    assert all(s.headers["prefer"] == IMMUTABLE_ID_PREFER for s in graph.seen)


def test_find_by_email_filters_and_escapes_quotes(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    cid = graph.add("o'brien+x@example.com", givenName="Pat")
    graph.add("other@example.com")
    found = folder_for(make_client, graph).find_by_email("o'brien+x@example.com")
    assert [c.id for c in found] == [cid]
    url = graph.seen[0].url
    assert "%2B" in url and " " not in url
    assert "emailAddresses/any(a:a/address eq 'o''brien+x@example.com')" in unquote(url)


# -- writes -----------------------------------------------------------------------------------


def test_creates_and_updates_in_chained_batches_with_headers(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    existing = graph.add("p0@example.com", surname="Old")
    writes = [update(0, existing), *(create(i) for i in range(1, 45))]
    results, called = run(folder_for(make_client, graph), writes)

    assert [r.key for r in results] == [w.key for w in writes]
    assert sorted(r.key for r in called) == sorted(w.key for w in writes)
    assert results[0] == WriteResult("0", Outcome.UPDATED, existing)
    assert all(r.outcome is Outcome.CREATED and r.office365_id for r in results[1:])
    assert graph.contacts[existing]["surname"] == "Y"
    assert len(graph.contacts) == 45

    batches = [s for s in graph.seen if s.url.endswith("/$batch")]
    # the three chains are in flight together, so they reach Graph in any order
    by_first = sorted(batches, key=lambda b: int(b.body["requests"][0]["id"]))
    ids = [[int(r["id"]) for r in b.body["requests"]] for b in by_first]
    assert ids == [list(range(20)), list(range(20, 40)), list(range(40, 45))]
    for batch in batches:
        assert batch.headers["prefer"] == IMMUTABLE_ID_PREFER
        reqs = batch.body["requests"]
        assert all(r["dependsOn"] == [reqs[i]["id"]] for i, r in enumerate(reqs[1:]))
    inner = [s for s in graph.seen if s.inner]
    assert len(inner) == 45
    assert all(
        s.headers == {"Content-Type": "application/json", "Prefer": IMMUTABLE_ID_PREFER}
        for s in inner
    )
    patch = next(s for s in inner if s.method == "PATCH")
    assert patch.url == f"{CONTACTS}/{existing}"


def test_one_unordered_batch_at_a_time(make_client: ClientFactory, graph: FakeGraph) -> None:
    graph.latency = 0.005
    results, _ = run(
        folder_for(make_client, graph, BatchStrategy.ONE_UNORDERED), [create(i) for i in range(60)]
    )
    assert all(r.outcome is Outcome.CREATED for r in results)
    assert graph.max_in_flight == 1
    batches = [s for s in graph.seen if s.url.endswith("/$batch")]
    assert all("dependsOn" not in r for b in batches for r in b.body["requests"])


def test_never_more_than_four_requests_in_flight(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    # The first four batches meet in the fake before any answers: four in flight at once, on
    # a loaded machine too (a 20 ms overlap alone left it to the scheduler).
    graph.together = 4
    graph.latency = 0.02
    graph.inner_faults = {
        "p3@example.com": [(429, {"Retry-After": "1"}, odata_error("TooManyRequests", "x"))]
    }
    results, _ = run(folder_for(make_client, graph), [create(i) for i in range(200)])
    assert all(r.outcome is Outcome.CREATED for r in results)
    assert graph.max_in_flight == 4
    assert len(graph.contacts) == 200


def test_one_bad_record_does_not_stop_the_others(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    bad = odata_error(
        "ErrorInvalidProperty",
        "The multi value property EmailAddresses has 4 entries, that exceeds the max allowed value of 3",
    )
    graph.inner_faults = {"p2@example.com": [(400, {}, bad)]}
    results, called = run(folder_for(make_client, graph), [create(i) for i in range(6)])
    outcomes = {r.key: r for r in results}
    assert outcomes["2"].outcome is Outcome.FAILED
    assert outcomes["2"].error == (
        "Office 365 refused the contact: The multi value property EmailAddresses has 4 entries, "
        "that exceeds the max allowed value of 3 (400 ErrorInvalidProperty)."
    )
    assert all(outcomes[k].outcome is Outcome.CREATED for k in "01345")
    assert len(called) == 6
    assert len(graph.contacts) == 5
    # 3..5 depended on 2 and came back 424: re-sent once, not counted as failures
    assert graph.posts_for("p4@example.com") == 2


def test_inner_429_is_retried_after_its_retry_after(
    make_client: ClientFactory, graph: FakeGraph, clock: FakeClock
) -> None:
    throttled = (
        429,
        {"Retry-After": "7"},
        odata_error("ApplicationThrottled", "MailboxConcurrency"),
    )
    graph.inner_faults = {"p1@example.com": [throttled, throttled]}
    results, called = run(
        folder_for(make_client, graph, BatchStrategy.ONE_UNORDERED), [create(i) for i in range(3)]
    )
    assert [r.outcome for r in results] == [Outcome.CREATED] * 3
    assert graph.posts_for("p1@example.com") == 3
    assert graph.posts_for("p0@example.com") == 1
    assert clock.sleeps == [7.0, 7.0]
    assert len(called) == 3


def test_too_many_objects_opened_uses_the_longest_delay_of_the_batch(
    make_client: ClientFactory, graph: FakeGraph, clock: FakeClock
) -> None:
    graph.inner_faults = {
        "p0@example.com": [
            (503, {"Retry-After": "3"}, odata_error("ErrorTooManyObjectsOpened", "x"))
        ],
        "p1@example.com": [(429, {"Retry-After": "9"}, odata_error("TooManyRequests", "x"))],
    }
    results, _ = run(
        folder_for(make_client, graph, BatchStrategy.ONE_UNORDERED), [create(i) for i in range(3)]
    )
    assert all(r.outcome is Outcome.CREATED for r in results)
    assert clock.sleeps == [9.0]
    assert len(graph.contacts) == 3


def test_dependants_of_a_throttled_member_are_resent_without_an_attempt(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    busy = (429, {"Retry-After": "1"}, odata_error("TooManyRequests", "x"))
    graph.inner_faults = {"p0@example.com": [busy], "p1@example.com": [busy]}
    policy = RetryPolicy(max_attempts=2)
    results, _ = run(folder_for(make_client, graph, policy=policy), [create(i) for i in range(4)])
    # round 1: p0 429, p1..p3 424; round 2 (untried first): p1 429, then p2, p3, p0 424;
    # round 3: all pass.
    # p3 came back 424 twice: with 2 attempts it would have given up had those counted.
    assert [r.outcome for r in results] == [Outcome.CREATED] * 4
    assert graph.posts_for("p3@example.com") == 3
    third = [s for s in graph.seen if s.url.endswith("/$batch")][2]
    order = [r["body"]["givenName"] for r in third.body["requests"]]
    assert order == ["P0", "P2", "P3", "P1"]  # untried first (by index), the throttled one last


@pytest.mark.parametrize("status", [503, 504])
def test_outer_5xx_is_retried_and_creates_are_checked_first(
    make_client: ClientFactory, graph: FakeGraph, status: int
) -> None:
    graph.outer_faults = [httpx.Response(status, json=odata_error("serviceNotAvailable", "x"))]
    results, _ = run(folder_for(make_client, graph), [create(1), create(2)])
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED]
    lookups = [s for s in graph.seen if "%24filter" in s.url or "$filter" in s.url]
    assert len(lookups) == 2
    assert len(graph.contacts) == 2


def test_outer_429_is_retried_without_lookups(
    make_client: ClientFactory, graph: FakeGraph, clock: FakeClock
) -> None:
    graph.outer_faults = [httpx.Response(429, headers={"Retry-After": "4"})]
    results, _ = run(
        folder_for(make_client, graph), [create(1), update(2, graph.add("p2@example.com"))]
    )
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.UPDATED]
    assert not any("filter" in s.url for s in graph.seen)
    assert clock.sleeps == [4.0]


def test_create_recorded_before_the_answer_was_lost_is_not_duplicated(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    graph.lose = {"p1@example.com": "after"}
    results, called = run(folder_for(make_client, graph), [create(1), create(2)])
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED]
    assert graph.emails() == ["p1@example.com", "p2@example.com"]
    assert graph.posts_for("p1@example.com") == 1
    by_key = {r.key: r.office365_id or "" for r in results}
    assert graph.contacts[by_key["1"]]["givenName"] == "P1"
    assert len(called) == 2


def test_create_lost_before_the_server_recorded_it_is_sent_again_once(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    graph.lose = {"p1@example.com": "before"}
    results, _ = run(folder_for(make_client, graph), [create(1)])
    assert results[0].outcome is Outcome.CREATED
    assert graph.posts_for("p1@example.com") == 1  # the first one never reached the fake
    batch_calls = [s for s in graph.seen if s.url.endswith("/$batch")]
    assert len(batch_calls) == 2  # lost one + exactly one re-send
    assert graph.emails() == ["p1@example.com"]


def test_updates_are_replayed_after_a_lost_answer_without_lookup(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    cid = graph.add("p1@example.com")
    graph.outer_faults = [httpx.ReadTimeout("slow")]
    results, _ = run(folder_for(make_client, graph), [update(1, cid)])
    assert results[0] == WriteResult("1", Outcome.UPDATED, cid)
    assert not any("filter" in s.url for s in graph.seen)


def test_gives_up_after_bounded_attempts_with_a_throttling_reason(
    make_client: ClientFactory, graph: FakeGraph, clock: FakeClock
) -> None:
    busy = (429, {"Retry-After": "2"}, odata_error("TooManyRequests", "Please retry again later."))
    graph.inner_faults = {"p1@example.com": [busy] * 10}
    policy = RetryPolicy(max_attempts=4)
    results, called = run(
        folder_for(make_client, graph, BatchStrategy.ONE_UNORDERED, policy), [create(0), create(1)]
    )
    assert results[0].outcome is Outcome.CREATED
    assert results[1].outcome is Outcome.FAILED
    assert results[1].error is not None
    assert (
        "429 TooManyRequests" in results[1].error and "gave up after 4 attempts" in results[1].error
    )
    assert graph.posts_for("p1@example.com") == 4
    assert clock.sleeps == [2.0, 2.0, 2.0]
    assert len(called) == 2


def test_update_of_a_missing_contact_fails_alone(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    results, _ = run(folder_for(make_client, graph), [update(1, "gone"), create(2)])
    assert results[0].outcome is Outcome.FAILED
    assert "404 ErrorItemNotFound" in (results[0].error or "")
    assert results[1].outcome is Outcome.CREATED


def test_update_without_id_fails_without_a_request(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    write = ContactWrite(key="9", kind=WriteKind.UPDATE, body={}, email="p9@example.com")
    results, called = run(folder_for(make_client, graph), [write])
    assert results[0].outcome is Outcome.FAILED
    assert called == results
    assert graph.seen == []


def test_outer_401_fails_every_write_with_the_auth_message(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    graph.outer_faults = [
        httpx.Response(
            401, json=odata_error("InvalidAuthenticationToken", "Access token has expired.")
        )
        for _ in range(10)
    ]
    results, called = run(folder_for(make_client, graph), [create(i) for i in range(45)])
    assert len(results) == 45 and len(called) == 45
    assert all(r.outcome is Outcome.FAILED for r in results)
    assert all("Access token has expired" in (r.error or "") for r in results)
    assert graph.contacts == {}


def test_outer_400_fails_that_batch_only(make_client: ClientFactory, graph: FakeGraph) -> None:
    graph.outer_faults = [
        httpx.Response(400, json=odata_error("BadRequest", "Invalid batch payload."))
    ]
    results, _ = run(
        folder_for(make_client, graph, BatchStrategy.ONE_UNORDERED), [create(i) for i in range(25)]
    )
    assert [r.outcome for r in results[:20]] == [Outcome.FAILED] * 20
    assert [r.outcome for r in results[20:]] == [Outcome.CREATED] * 5
    assert "Invalid batch payload" in (results[0].error or "")


def test_a_batch_answer_missing_a_member_is_treated_as_unknown(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    graph.outer_faults = [
        httpx.Response(200, json={"responses": [{"id": "0", "status": 201, "body": {"id": "X"}}]})
    ]
    results, _ = run(folder_for(make_client, graph), [create(0), create(1)])
    assert results[0] == WriteResult("0", Outcome.CREATED, "X")
    assert results[1].outcome is Outcome.CREATED
    assert graph.posts_for("p1@example.com") == 1


def test_html_batch_answer_is_not_fatal(make_client: ClientFactory, graph: FakeGraph) -> None:
    graph.outer_faults = [
        httpx.Response(
            502, headers={"Content-Type": "text/html"}, content=b"<html>Bad gateway</html>"
        )
    ]
    results, _ = run(folder_for(make_client, graph), [create(0)])
    assert results[0].outcome is Outcome.CREATED
    assert len(graph.contacts) == 1


def test_empty_write_list(make_client: ClientFactory, graph: FakeGraph) -> None:
    assert folder_for(make_client, graph).write([]) == []


def test_failed_batch_calls_count_no_attempt_against_their_members(
    make_client: ClientFactory, graph: FakeGraph, clock: FakeClock
) -> None:
    # Five whole-batch 503s in a row, then health: with max_attempts=4 per record, counting the
    # batch's failures against each member would have failed all of them.
    unavailable = httpx.Response(503, json=odata_error("serviceNotAvailable", "x"))
    graph.outer_faults = [unavailable, unavailable, httpx.Response(200, json={"responses": []})]
    graph.outer_faults += [httpx.Response(429, headers={"Retry-After": "1"})] * 2
    policy = RetryPolicy(max_attempts=4)
    results, _ = run(folder_for(make_client, graph, policy=policy), [create(1), create(2)])
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED]
    assert graph.emails() == ["p1@example.com", "p2@example.com"]


def test_batch_calls_that_keep_failing_end_every_write_with_the_reason(
    make_client: ClientFactory, graph: FakeGraph, clock: FakeClock
) -> None:
    graph.outer_faults = [httpx.Response(429, headers={"Retry-After": "1"})] * 50
    policy = RetryPolicy(max_attempts=3)
    results, called = run(folder_for(make_client, graph, policy=policy), [create(1), create(2)])
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED]
    assert all("gave up after 3 attempts" in (r.error or "") for r in results)
    assert len([s for s in graph.seen if s.url.endswith("/$batch")]) == 3
    assert len(called) == 2


def delete(n: int, contact_id: str) -> ContactWrite:
    return ContactWrite(str(n), WriteKind.DELETE, {}, f"p{n}@example.com", contact_id)


def test_deletes_go_in_batches_as_delete_requests_and_a_gone_contact_counts(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    ids = [graph.add(f"p{n}@example.com") for n in range(25)]
    writes = [delete(n, cid) for n, cid in enumerate(ids)] + [delete(99, "C-gone")]
    results, called = run(folder_for(make_client, graph), writes)
    assert [r.outcome for r in results] == [Outcome.DELETED] * 26
    assert [r.note for r in results] == [None] * 25 + [ALREADY_GONE]
    assert graph.contacts == {}
    inner = [s for s in graph.seen if s.inner]
    assert {s.method for s in inner} == {"DELETE"} and all(s.body is None for s in inner)
    assert len([s for s in graph.seen if s.url.endswith("/$batch")]) == 2
    assert len(called) == 26


def test_a_delete_whose_answer_was_lost_is_sent_again_without_lookup(
    make_client: ClientFactory, graph: FakeGraph
) -> None:
    cid = graph.add("p1@example.com")
    graph.contacts.pop(cid)  # it was deleted, then the answer was lost: Graph says 503
    graph.outer_faults = [httpx.Response(503, json=odata_error("serviceNotAvailable", "x"))]
    results, _ = run(folder_for(make_client, graph), [delete(1, cid)])
    assert (results[0].outcome, results[0].note) == (Outcome.DELETED, ALREADY_GONE)
    assert not any("filter" in s.url for s in graph.seen)
