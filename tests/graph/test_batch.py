from __future__ import annotations

import pytest

from central365.graph.batch import (
    IMMUTABLE_ID_PREFER,
    BatchRequest,
    BatchStrategy,
    build_batch,
    chunks,
    depends_on,
    parse_batch_response,
)


def _requests(n: int) -> list[BatchRequest]:
    return [
        BatchRequest(str(i), "POST", "/me/contactFolders/F/contacts", {"n": i}) for i in range(n)
    ]


def test_chunks_of_at_most_20() -> None:
    sizes = [len(c) for c in chunks(list(range(45)))]
    assert sizes == [20, 20, 5]
    assert [len(c) for c in chunks(list(range(5)), size=500)] == [5]
    assert [len(c) for c in chunks(list(range(3)), size=0)] == [1, 1, 1]


def test_chained_batch_has_depends_on_chain_and_headers() -> None:
    payload = build_batch(_requests(4), chained=True)
    reqs = payload["requests"]
    assert [r["id"] for r in reqs] == ["0", "1", "2", "3"]
    assert "dependsOn" not in reqs[0]
    assert [r["dependsOn"] for r in reqs[1:]] == [["0"], ["1"], ["2"]]
    for r in reqs:
        assert r["headers"] == {"Content-Type": "application/json", "Prefer": IMMUTABLE_ID_PREFER}
        assert r["url"].startswith("/me/")
    assert depends_on(payload) == {"1": "0", "2": "1", "3": "2"}


def test_unordered_batch_has_no_dependencies() -> None:
    payload = build_batch(_requests(3), chained=False)
    assert all("dependsOn" not in r for r in payload["requests"])
    assert depends_on(payload) == {}


@pytest.mark.parametrize("n", [0, 21])
def test_batch_size_is_enforced(n: int) -> None:
    with pytest.raises(ValueError, match="1 to 20"):
        build_batch(_requests(n), chained=False)


def test_duplicate_ids_are_refused() -> None:
    dup = [BatchRequest("a", "GET", "/me"), BatchRequest("A", "GET", "/me")]
    with pytest.raises(ValueError, match="unique"):
        build_batch(dup, chained=False)


def test_strategy_defaults() -> None:
    assert BatchStrategy.SEQUENTIAL_CHAINS.batches_in_flight == 4
    assert BatchStrategy.SEQUENTIAL_CHAINS.chained
    assert BatchStrategy.ONE_UNORDERED.batches_in_flight == 1
    assert not BatchStrategy.ONE_UNORDERED.chained


def test_parse_matches_by_id_whatever_the_order() -> None:
    payload = {
        "responses": [
            {"id": "2", "status": 429, "headers": {"Retry-After": "7"}, "body": {"error": {}}},
            {"id": "0", "status": 201, "body": {"id": "C0"}},
            {"id": "1", "status": 424},
        ]
    }
    replies = parse_batch_response(payload)
    assert set(replies) == {"0", "1", "2"}
    assert replies["0"].body == {"id": "C0"}
    assert replies["2"].headers == {"retry-after": "7"}
    assert replies["1"].status == 424 and replies["1"].body is None


@pytest.mark.parametrize(
    "payload",
    [None, "<html>", [], {"responses": "x"}, {"nothing": []}],
)
def test_parse_tolerates_junk(payload: object) -> None:
    assert parse_batch_response(payload) == {}


def test_parse_skips_malformed_entries() -> None:
    payload = {
        "responses": [
            {"id": 1, "status": 200},
            {"id": "a", "status": "200"},
            "x",
            {"id": "b", "status": True},
            {"id": "c", "status": 204},
        ]
    }
    assert list(parse_batch_response(payload)) == ["c"]
