from __future__ import annotations

import logging
import threading
from urllib.parse import unquote

import httpx
import pytest

from central365.core.errors import AuthFailed, GraphError, NotFound, OutcomeUnknown, Throttled
from central365.core.ports import RunLimits
from central365.graph.auth import StaticTokenAuth
from central365.graph.batch import IMMUTABLE_ID_PREFER
from central365.graph.client import (
    GraphClient,
    build_query,
    loggable_url,
    odata_string,
    user_path,
)
from central365.graph.decide import Action, Decision
from central365.graph.errors import DeadlineReached
from central365.graph.throttle import RetryPolicy
from tests.graph.conftest import ClientFactory, FakeClock
from tests.graph.fakegraph import BASE, CONTACTS, FakeGraph, Handler, odata_error


def _script(*answers: httpx.Response | Exception) -> tuple[list[httpx.Request], Handler]:
    """A handler replaying `answers` in order, recording each request."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return seen, handler


def test_user_path_and_odata_literals() -> None:
    assert user_path("me") == "/me"
    assert user_path("ME") == "/me"
    assert user_path("o'brien@contoso.com") == "/users/o%27brien%40contoso.com"
    assert user_path("a/b") == "/users/a%2Fb"
    assert odata_string("o'brien") == "'o''brien'"
    assert build_query({"$filter": "displayName eq 'A & B'"}) == (
        "$filter=displayName%20eq%20'A%20%26%20B'"
    )


def test_loggable_url_masks_ids_and_query_values() -> None:
    url = f"{BASE}/users/bob%40contoso.com/contactFolders/AAMk=/contacts?$filter=x%40y&$top=5"
    masked = loggable_url(url)
    assert "bob" not in masked and "AAMk" not in masked and "x%40y" not in masked
    assert masked.endswith("/users/***/contactFolders/***/contacts?$filter&$top")


def test_paging_follows_next_link_exactly_and_sends_immutable_ids(
    make_client: ClientFactory,
) -> None:
    odd_link = f"{BASE}{CONTACTS}?%24skiptoken=Zm9v%3D%3D&$select=id,displayName&$top=1000"
    seen, handler = _script(
        httpx.Response(200, json={"value": [{"id": "1"}], "@odata.nextLink": odd_link}),
        httpx.Response(200, json={"value": [{"id": "2"}, "junk"]}),
    )
    client = make_client(handler)
    items = list(client.pages(client.url(CONTACTS, {"$top": "1000"})))
    assert [i["id"] for i in items] == ["1", "2"]
    assert str(seen[1].url) == odd_link
    assert all(r.headers["Prefer"] == IMMUTABLE_ID_PREFER for r in seen)
    assert all(r.headers["Authorization"] == "Bearer t0k" for r in seen)


@pytest.mark.parametrize("status", [429, 503, 504])
def test_get_retries_after_retry_after(
    make_client: ClientFactory, clock: FakeClock, status: int
) -> None:
    seen, handler = _script(
        httpx.Response(status, headers={"Retry-After": "2.128"}, json=odata_error("X", "busy")),
        httpx.Response(200, json={"ok": True}),
    )
    assert make_client(handler).get(f"{BASE}/me") == {"ok": True}
    assert len(seen) == 2
    assert clock.sleeps == [pytest.approx(2.128)]


def test_too_many_objects_opened_without_retry_after_backs_off(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    seen, handler = _script(
        httpx.Response(500, json=odata_error("ErrorTooManyObjectsOpened", "Too many")),
        httpx.Response(200, json={}),
    )
    make_client(handler).get(f"{BASE}/me")
    assert len(seen) == 2
    assert clock.sleeps == [pytest.approx(0.75)]  # base 1 s, jitter 0.5 → 0.5 + 0.25


def test_gives_up_with_throttled_after_max_attempts(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    busy = [httpx.Response(429, headers={"Retry-After": "1"}) for _ in range(3)]
    seen, handler = _script(*busy)
    with pytest.raises(Throttled):
        make_client(handler, policy=RetryPolicy(max_attempts=3)).get(f"{BASE}/me")
    assert len(seen) == 3
    assert len(clock.sleeps) == 2


def test_post_is_not_replayed_after_503_or_lost_answer(make_client: ClientFactory) -> None:
    seen, handler = _script(httpx.Response(503, json=odata_error("serviceNotAvailable", "x")))
    with pytest.raises(Throttled):
        make_client(handler).post(f"{BASE}/me/contactFolders", {"displayName": "A"})
    assert len(seen) == 1

    seen, handler = _script(httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown):
        make_client(handler).post(f"{BASE}/me/contactFolders", {"displayName": "A"})
    assert len(seen) == 1


def test_post_is_replayed_after_429_and_connect_error(make_client: ClientFactory) -> None:
    seen, handler = _script(
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.ConnectError("refused"),
        httpx.Response(201, json={"id": "F"}),
    )
    assert make_client(handler).post(f"{BASE}/me/contactFolders", {"displayName": "A"}) == {
        "id": "F"
    }
    assert len(seen) == 3


def test_patch_is_replayed_after_lost_answer(make_client: ClientFactory) -> None:
    seen, handler = _script(httpx.ReadTimeout("slow"), httpx.Response(200, json={"id": "C"}))
    assert make_client(handler).patch(f"{BASE}/me/contacts/C", {"x": 1}) == {"id": "C"}
    assert len(seen) == 2


def test_401_is_auth_failed_and_404_not_found(make_client: ClientFactory) -> None:
    _, handler = _script(
        httpx.Response(401, json=odata_error("InvalidAuthenticationToken", "Token expired."))
    )
    with pytest.raises(AuthFailed, match="Token expired"):
        make_client(handler).get(f"{BASE}/me")
    _, handler = _script(httpx.Response(404, json=odata_error("ErrorItemNotFound", "Gone.")))
    with pytest.raises(NotFound, match="404 ErrorItemNotFound"):
        make_client(handler).get(f"{BASE}/me", what="the folder")


def test_html_error_page_gives_a_clear_graph_error(make_client: ClientFactory) -> None:
    _, handler = _script(
        httpx.Response(
            502, headers={"Content-Type": "text/html"}, content=b"<html>Bad Gateway</html>"
        )
    )
    with pytest.raises(GraphError, match="HTML page") as info:
        make_client(handler).get(f"{BASE}/me")
    assert info.value.status == 502


def test_html_success_page_is_not_a_list(make_client: ClientFactory) -> None:
    _, handler = _script(httpx.Response(200, content=b"<html>login</html>"))
    with pytest.raises(GraphError, match="not a Graph list"):
        list(make_client(handler).pages(f"{BASE}/me/contactFolders"))


def test_logs_are_masked(make_client: ClientFactory, caplog: pytest.LogCaptureFixture) -> None:
    graph = FakeGraph()
    graph.add("secret.person@example.com", givenName="Secret")
    client = make_client(graph)
    with caplog.at_level(logging.DEBUG, logger="central365.graph"):
        list(client.pages(client.url(CONTACTS, {"$filter": "x eq 'secret.person@example.com'"})))
    text = caplog.text
    assert "contactFolders" in text
    assert "secret" not in text.lower() and "t0k" not in text
    assert "sync" not in unquote(text)


# -- the run's deadline and waiting notifications --------------------------------------------


def test_a_pause_is_told_to_the_run(make_client: ClientFactory, clock: FakeClock) -> None:
    told: list[tuple[str, float]] = []
    _, handler = _script(
        httpx.Response(
            429, headers={"Retry-After": "42"}, json=odata_error("TooManyRequests", "x")
        ),
        httpx.Response(200, json={"value": []}),
    )
    client = make_client(handler)
    client.limit_run(RunLimits(3600, lambda reason, seconds: told.append((reason, seconds))))
    assert client.get(f"{BASE}{CONTACTS}") == {"value": []}
    assert told == [("throttled (429 TooManyRequests)", 42.0)]
    assert clock.sleeps == [42.0]


def test_each_request_timeout_is_cut_to_the_time_the_run_has_left(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    timeouts: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"]["read"])
        return httpx.Response(200, json={})

    client = make_client(handler)
    client.get(f"{BASE}/me")  # no run: the client's own timeout (httpx's 5 s default)
    client.limit_run(RunLimits(60))
    client.get(f"{BASE}/me")
    clock.sleep(57.5)
    client.get(f"{BASE}/me")
    assert timeouts == [5.0, 5.0, 2.5]
    clock.sleep(5)
    with pytest.raises(DeadlineReached, match="deadline of 60 s"):
        client.get(f"{BASE}/me")
    assert len(timeouts) == 3  # nothing sent after the deadline


def test_the_same_limits_again_keep_the_running_deadline(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    client = make_client(lambda r: httpx.Response(200, json={}))
    limits = RunLimits(60)
    client.limit_run(limits)
    clock.sleep(30)
    client.limit_run(limits)
    assert client.deadline.remaining() == 30
    client.limit_run(RunLimits(60))  # a new run starts a new deadline
    assert client.deadline.remaining() == 60


def test_a_retry_after_past_the_deadline_raises_instead_of_sleeping(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    seen, handler = _script(
        httpx.Response(429, headers={"Retry-After": "100000"}),
        httpx.Response(200, json={}),
    )
    client = make_client(handler)
    client.limit_run(RunLimits(3600))
    with pytest.raises(DeadlineReached, match="asked us to wait 100000 s"):
        client.get(f"{BASE}/me")
    assert clock.sleeps == [] and len(seen) == 1


def test_a_wait_that_ends_the_run_stops_every_later_send_of_the_run(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    seen, handler = _script(
        httpx.Response(429, headers={"Retry-After": "100000"}),
        httpx.Response(200, json={}),
    )
    client = make_client(handler)
    client.limit_run(RunLimits(3600))
    with pytest.raises(DeadlineReached, match="asked us to wait 100000 s") as first:
        client.get(f"{BASE}/me")
    # the deadline is still an hour away, but the run is over: the same reason, nothing sent
    with pytest.raises(DeadlineReached) as later:
        client.get(f"{BASE}/me")
    assert later.value.message == first.value.message and len(seen) == 1
    client.limit_run(None)  # the next run (a replan) may send again
    assert client.get(f"{BASE}/me") == {} and len(seen) == 2


class GatedClock(FakeClock):
    """A fake clock whose sleeps block until the test opens the gate (then move time)."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = threading.Event()
        self.gate = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.sleeping.set()
        assert self.gate.wait(10), "the test never opened the gate"
        super().sleep(seconds)


def test_a_worker_waiting_at_the_fence_sends_nothing_once_another_ends_the_run() -> None:
    """The race behind the flaky 429 test: a worker past its checks (here held at the fence)
    while another hears a Retry-After longer than the time left must not send afterwards."""
    clock = GatedClock()
    seen, handler = _script(httpx.Response(200, json={}))
    http = httpx.Client(transport=httpx.MockTransport(handler), auth=StaticTokenAuth("t"))
    client = GraphClient(http, BASE, "sync@contoso.com", clock=clock, jitter=lambda: 0.5)
    client.limit_run(RunLimits(3600))
    client.fence.hold(5)  # an earlier, short 429
    raised: list[Exception] = []

    def worker() -> None:
        try:
            client.send("GET", f"{BASE}/me")
        except Exception as exc:  # read below, on the test thread
            raised.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    assert clock.sleeping.wait(10)  # the worker waits out the fence
    too_long = Decision(Action.WAIT, "throttled (429 TooManyRequests)", 600.0, asked=100000.0)
    with pytest.raises(DeadlineReached) as ended:
        client.wait(too_long)
    clock.gate.set()
    thread.join(10)
    http.close()

    assert not thread.is_alive() and seen == []
    assert len(raised) == 1 and isinstance(raised[0], DeadlineReached)
    assert raised[0].message == ended.value.message
    assert "asked us to wait 100000 s" in ended.value.message


def test_a_fence_held_past_the_deadline_sends_nothing(
    make_client: ClientFactory, clock: FakeClock
) -> None:
    seen, handler = _script(httpx.Response(200, json={}))
    client = make_client(handler)
    client.limit_run(RunLimits(10))
    client.fence.hold(20)
    with pytest.raises(DeadlineReached):
        client.get(f"{BASE}/me")
    assert seen == [] and clock.sleeps == []
