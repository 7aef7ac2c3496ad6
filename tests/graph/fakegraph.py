"""A scripted, in-memory Graph for the graph layer's unit tests (an `httpx.MockTransport` handler).

It keeps one contacts folder, answers list/filter/paging, contact POST/PATCH and `$batch` (with
`dependsOn` → 424 semantics), records every request (inner batch requests included), counts
requests in flight, and plays faults scripted per contact email or per outer call.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

BASE = "https://graph.test/v1.0"
USER = "/users/sync%40contoso.com"
FOLDER = "F1"
CONTACTS = f"{USER}/contactFolders/{FOLDER}/contacts"

#: An inner fault: (status, headers, body).
Inner = tuple[int, dict[str, str], Any]


def odata_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "r-1"}}}


@dataclass
class Seen:
    method: str
    url: str
    headers: dict[str, str]
    body: Any = None
    inner: bool = False


@dataclass
class FakeGraph:
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    page_size: int = 2
    #: Per email, the answers its next inner writes get instead of being applied.
    inner_faults: dict[str, list[Inner]] = field(default_factory=dict)
    #: Answers (or exceptions) for the next outer requests of any kind, in order.
    outer_faults: list[httpx.Response | Exception] = field(default_factory=list)
    #: Per email: lose the answer of the batch carrying its create, "before" or "after" applying.
    lose: dict[str, str] = field(default_factory=dict)
    #: Real seconds each outer request takes (to observe concurrency).
    latency: float = 0.0
    #: Hold the first this many outer requests until all of them are in flight together (0:
    #: off): proof that the client sends that many at once, without trusting the scheduler.
    together: int = 0
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _met: threading.Condition = field(default_factory=threading.Condition)
    _arrived: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # -- helpers for tests ------------------------------------------------------------------

    def posts_for(self, email: str) -> int:
        return sum(
            1
            for s in self.seen
            if s.method == "POST" and s.inner and _email_of(s.body or {}) == email.lower()
        )

    def emails(self) -> list[str]:
        return sorted(_email_of(c) for c in self.contacts.values())

    def add(self, email: str, **props: Any) -> str:
        cid = f"C{next(self._ids)}"
        self.contacts[cid] = {"id": cid, "emailAddresses": [{"address": email}], **props}
        return cid

    # -- the handler ------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            body = json.loads(request.content) if request.content else None
            self.seen.append(Seen(request.method, str(request.url), dict(request.headers), body))
        try:
            if self.together:
                self._meet()
            if self.latency:
                time.sleep(self.latency)
            with self._lock:
                if self.outer_faults:
                    fault = self.outer_faults.pop(0)
                    if isinstance(fault, Exception):
                        raise fault
                    return fault
                return self._route(request, body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _meet(self) -> None:
        """Wait until the first `together` requests have all arrived (later ones pass)."""
        with self._met:
            if self._arrived >= self.together:
                return
            self._arrived += 1
            self._met.notify_all()
            if not self._met.wait_for(lambda: self._arrived >= self.together, timeout=10):
                raise AssertionError(
                    f"only {self._arrived} of {self.together} requests were ever in flight together"
                )

    def _route(self, request: httpx.Request, body: Any) -> httpx.Response:
        url = urlsplit(str(request.url))
        path = url.path.removeprefix("/v1.0")
        if path == "/$batch":
            return self._batch(body)
        status, headers, payload = self._one(request.method, path, url.query, body)
        return httpx.Response(status, headers=headers, json=payload)

    def _one(self, method: str, path: str, query: str, body: Any) -> Inner:
        if path == CONTACTS and method == "GET":
            return 200, {}, self._list(query)
        if path == CONTACTS and method == "POST":
            cid = f"C{next(self._ids)}"
            self.contacts[cid] = {**body, "id": cid}
            return 201, {}, self.contacts[cid]
        if path.startswith(CONTACTS + "/") and method == "PATCH":
            cid = unquote(path.rsplit("/", 1)[1])
            if cid not in self.contacts:
                return (
                    404,
                    {},
                    odata_error(
                        "ErrorItemNotFound", "The specified object was not found in the store."
                    ),
                )
            self.contacts[cid].update(body)
            return 200, {}, self.contacts[cid]
        if path.startswith(CONTACTS + "/") and method == "DELETE":
            cid = unquote(path.rsplit("/", 1)[1])
            if self.contacts.pop(cid, None) is None:
                return (
                    404,
                    {},
                    odata_error(
                        "ErrorItemNotFound", "The specified object was not found in the store."
                    ),
                )
            return 204, {}, None
        return 400, {}, odata_error("BadRequest", f"fake graph cannot {method} {path}")

    def _list(self, query: str) -> dict[str, Any]:
        params = {k: v[0] for k, v in parse_qs(query).items()}
        items = sorted(self.contacts.values(), key=lambda c: c["id"])
        flt = params.get("$filter")
        if flt:
            wanted = flt.split("eq '", 1)[1].rsplit("'", 1)[0].replace("''", "'").lower()
            items = [c for c in items if _email_of(c) == wanted]
        skip = int(params.get("$skip", "0"))
        page = items[skip : skip + self.page_size]
        out: dict[str, Any] = {"value": page}
        if skip + self.page_size < len(items):
            out["@odata.nextLink"] = f"{BASE}{CONTACTS}?%24skip={skip + self.page_size}&$top=1000"
        return out

    def _batch(self, body: Any) -> httpx.Response:
        requests = body["requests"]
        if len(requests) > 20:
            return httpx.Response(400, json=odata_error("BadRequest", "too many requests"))
        lost = None
        for item in requests:
            email = _email_of(item.get("body") or {})
            if item["method"] == "POST" and email in self.lose:
                lost = self.lose.pop(email)
        if lost == "before":
            raise httpx.ReadTimeout("lost")
        failed: set[str] = set()
        responses = []
        for item in requests:
            self.seen.append(
                Seen(
                    item["method"],
                    item["url"],
                    dict(item.get("headers") or {}),
                    item.get("body"),
                    True,
                )
            )
            deps = item.get("dependsOn") or []
            status: int
            headers: dict[str, str]
            payload: Any
            if any(d in failed for d in deps):
                status, headers, payload = (
                    424,
                    {},
                    odata_error("FailedDependency", "dependency failed"),
                )
            else:
                email = _email_of(item.get("body") or {})
                queue = self.inner_faults.get(email)
                if queue:
                    status, headers, payload = queue.pop(0)
                else:
                    path, _, query = item["url"].partition("?")
                    status, headers, payload = self._one(
                        item["method"], path, query, item.get("body")
                    )
            if not 200 <= status < 300:
                failed.add(item["id"])
            responses.append(
                {"id": item["id"], "status": status, "headers": headers, "body": payload}
            )
        if lost == "after":
            raise httpx.ReadTimeout("lost")
        responses.reverse()  # Graph may answer in any order
        return httpx.Response(200, json={"responses": responses})


def _email_of(contact: dict[str, Any]) -> str:
    emails = contact.get("emailAddresses") or [{}]
    return str(emails[0].get("address", "")).lower()


Handler = Callable[[httpx.Request], httpx.Response]
