"""JSON `$batch` payloads for contact writes, and their answers: pure data in, data out.

Owns: the batch size and mailbox concurrency constants, the `BatchStrategy` choice, building
`{"requests": [...]}` bodies (ids, relative urls, per-request headers, the `dependsOn` chain)
and reading `{"responses": [...]}` back into per-request results matched by id.

Must not: send anything, sleep, or decide what a status means (that is `graph.errors`).

Facts used (reference §3 and §3.1, `mgdc: concepts/json-batching.md`,
`mgdc: includes/throttling-outlook.md@23cf951`):

- at most 20 requests per batch; ids unique; answers come back in any order, matched by `id`;
- headers are per request, so `Content-Type` and `Prefer: IdType="ImmutableId"` go in each one;
- a request may depend on one other; when it fails, its dependants come back 424;
- Outlook runs at most 4 requests per mailbox at once, counting batch members.  Graph forwards an
  unordered batch 4 at a time, and a `dependsOn`-chained batch one at a time.  Hence the two
  strategies: up to 4 chained batches in flight (each holds one mailbox slot), or one unordered
  batch at a time (it holds all 4).  Either way the app has at most 4 requests in the mailbox.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")

#: Graph's hard limit of requests in one `$batch` (reference §3).
MAX_BATCH_REQUESTS = 20

#: Outlook's concurrent requests per app + mailbox (reference §4.1 "Personal contacts API" row).
#: Budget check: 10,000 requests / 10 min ≈ 16.7 requests/s per mailbox; batch members count one
#: each, so 20-request batches allow ≈ 500 batches (10,000 contact writes) per 10 minutes.
MAILBOX_CONCURRENCY = 4

#: Sent on every request, inner batch requests included, so contact ids survive folder moves
#: (reference §6.1, `mgdc: concepts/outlook-immutable-id.md`).
IMMUTABLE_ID_PREFER = 'IdType="ImmutableId"'


class BatchStrategy(Enum):
    """How writes share the mailbox's 4 concurrent-request slots."""

    #: Up to 4 batches in flight, each made sequential with a `dependsOn` chain (the default).
    SEQUENTIAL_CHAINS = "sequential_chains"
    #: One unordered batch at a time; Graph runs its members 4 at once.
    ONE_UNORDERED = "one_unordered"

    @property
    def batches_in_flight(self) -> int:
        """How many batches may be sent at the same time under this strategy."""
        return MAILBOX_CONCURRENCY if self is BatchStrategy.SEQUENTIAL_CHAINS else 1

    @property
    def chained(self) -> bool:
        return self is BatchStrategy.SEQUENTIAL_CHAINS


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One inner request: `url` is relative to the version root, e.g. `/me/contactFolders/x/contacts`."""

    id: str
    method: str
    url: str
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class BatchReply:
    """One inner answer; `headers` keys are lower-cased, `body` is Graph's JSON (or None)."""

    id: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


def chunks(items: Sequence[T], size: int = MAX_BATCH_REQUESTS) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` (clamped to 1..20) items."""
    size = max(1, min(MAX_BATCH_REQUESTS, size))
    for start in range(0, len(items), size):
        yield items[start : start + size]


def build_batch(requests: Sequence[BatchRequest], *, chained: bool) -> dict[str, Any]:
    """The `$batch` body for up to 20 requests; with `chained`, each depends on the one before.

    Raises ValueError for an empty or oversized batch or duplicate ids (Graph would answer 400).
    """
    if not requests or len(requests) > MAX_BATCH_REQUESTS:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH_REQUESTS} requests, not {len(requests)}")
    if len({r.id.casefold() for r in requests}) != len(requests):
        raise ValueError("batch request ids must be unique (compared ignoring case)")
    out: list[dict[str, Any]] = []
    previous: str | None = None
    for request in requests:
        item: dict[str, Any] = {
            "id": request.id,
            "method": request.method,
            "url": request.url,
            "headers": {"Content-Type": "application/json", "Prefer": IMMUTABLE_ID_PREFER},
        }
        if request.body is not None:
            item["body"] = dict(request.body)
        if chained and previous is not None:
            item["dependsOn"] = [previous]
        out.append(item)
        previous = request.id
    return {"requests": out}


def depends_on(payload: Mapping[str, Any]) -> dict[str, str]:
    """Map each request id of a built batch to the id it depends on (absent when none)."""
    result: dict[str, str] = {}
    for item in payload.get("requests", ()):
        deps = item.get("dependsOn") or ()
        if deps:
            result[str(item["id"])] = str(deps[0])
    return result


def parse_batch_response(payload: Any) -> dict[str, BatchReply]:
    """Per-request answers of a `$batch` response body, keyed by id.

    Answers may arrive in any order.  Malformed entries (no id, no integer status) are left out,
    and a body that is not `{"responses": [...]}` gives an empty dict: the caller treats every
    request without an answer as "outcome unknown".
    """
    if not isinstance(payload, Mapping):
        return {}
    responses = payload.get("responses")
    if not isinstance(responses, list):
        return {}
    replies: dict[str, BatchReply] = {}
    for entry in responses:
        if not isinstance(entry, Mapping):
            continue
        rid, status = entry.get("id"), entry.get("status")
        if not isinstance(rid, str) or isinstance(status, bool) or not isinstance(status, int):
            continue
        raw_headers = entry.get("headers")
        headers = (
            {str(k).lower(): str(v) for k, v in raw_headers.items()}
            if isinstance(raw_headers, Mapping)
            else {}
        )
        replies[rid] = BatchReply(id=rid, status=status, headers=headers, body=entry.get("body"))
    return replies
