"""`POST /v1.0/$batch`: parse, check, run members through the normal handlers, answer.

Reference §3 and §3.1:

- at most 20 members; ids unique case-insensitively; a member with a body must carry a
  `Content-Type` header, and a POST/PATCH/PUT must carry a body (Graph refuses the whole batch
  with "Write request id : N does not contain Content-Type header or body.", seen in
  msgraph-sdk-dotnet#2628).  Any of these is a 400 for the whole batch;
- members are dispatched like top-level requests with their own headers (Prefer, ...) and the
  outer request's authentication; each answer is `{id, status, headers, body}`;
- `dependsOn` follows Graph's limits (reference §3, the known issue "a request may depend on
  only one other request"): a batch is fully parallel (no member depends), or every member but
  the first depends on exactly one earlier member (a chain, or all on the same one).  Anything
  else is a 400 for the whole batch: mixing chained and unchained members is "Batch should be
  either fully sequential or fully parallel." (mgdc#2339, Microsoft Q&A 1532547), depending on
  a later member is "Invalid dependency for request Id ..." (msgraph-sdk-dotnet-core#891);
  depending on several is refused with the first message (its wording there is unsourced).
  Members run in the given order, and a member whose dependency failed (status >= 400) gets
  424 Failed Dependency;
- the outer status is 200 whenever the batch parses.

Mailbox slots (reference §3.1): Graph forwards at most 4 members of an unordered batch at a
time, and a `dependsOn` chain one at a time.  So for each mailbox it targets, an unordered batch
wants min(4, n) slots and a chain wants 1.  When fewer are free, the members go out in waves of
the wanted size and, in each wave, those beyond the granted slots get 429 ApplicationThrottled,
which matches the 4-6 inner 429s per 20 that field reports describe when other requests run
against the same mailbox.

Service time (`FaultConfig.op_ms`): each member that runs against a mailbox spends `op_ms` in
its slot.  A chain spends it member after member (n members: n * op_ms); an unordered batch
spends it once per wave (n members: ceil(n / 4) * op_ms).  The round trip (`latency_ms`) comes
once, before the first member.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from central365.mailstore.problem import GraphProblem, bad_request
from central365.sandbox import faults as faults_mod
from central365.sandbox.context import SandboxContext, ServiceTimer
from central365.sandbox.dispatch import handle, mailbox_of
from central365.sandbox.messages import GraphRequest, GraphResponse, json_response, problem_response

MAX_MEMBERS = 20
_WRITE_METHODS = frozenset({"POST", "PATCH", "PUT"})
_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})


@dataclass(frozen=True)
class Member:
    id: str
    method: str
    url: str
    headers: Mapping[str, str]
    body: Any
    has_body: bool
    depends_on: tuple[str, ...]


@dataclass
class Effects:
    """What after-processing rules asked of the whole HTTP response."""

    hang_s: float = 0.0
    drop: bool = False


def parse_batch(payload: Any) -> list[Member]:
    """Check a batch body; raises a 400 `GraphProblem` for anything Graph would refuse whole."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("requests"), list):
        raise bad_request("Invalid batch payload format.")
    raw_members = payload["requests"]
    if not raw_members:
        raise bad_request("Invalid batch payload format: the batch holds no requests.")
    if len(raw_members) > MAX_MEMBERS:
        raise bad_request(
            f"The number of requests in the batch ({len(raw_members)}) exceeds the limit of "
            f"{MAX_MEMBERS}."
        )
    members: list[Member] = []
    seen: set[str] = set()
    for raw in raw_members:
        member = _parse_member(raw)
        if member.id.casefold() in seen:
            raise bad_request(f"Batch request ids must be unique; '{member.id}' is repeated.")
        seen.add(member.id.casefold())
        members.append(member)
    _check_dependencies(members)
    return members


def _parse_member(raw: Any) -> Member:
    if not isinstance(raw, Mapping):
        raise bad_request("Invalid batch payload format: a request is not an object.")
    member_id, method, url = raw.get("id"), raw.get("method"), raw.get("url")
    if not isinstance(member_id, str) or not member_id:
        raise bad_request("Invalid batch payload format: every request needs a string id.")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise bad_request(f"Request '{member_id}' has a missing or unsupported method.")
    if not isinstance(url, str) or not url:
        raise bad_request(f"Request '{member_id}' has no url.")
    headers = raw.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise bad_request(f"Request '{member_id}' has invalid headers.")
    depends = raw.get("dependsOn") or []
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise bad_request(f"Request '{member_id}' has an invalid dependsOn.")
    has_body = raw.get("body") is not None
    lowered = {k.lower(): v for k, v in headers.items()}
    if (has_body and "content-type" not in lowered) or (
        method.upper() in _WRITE_METHODS and not has_body
    ):
        raise bad_request(
            f"Write request id : {member_id} does not contain Content-Type header or body."
        )
    return Member(
        id=member_id,
        method=method.upper(),
        url=url,
        headers=lowered,
        body=raw.get("body"),
        has_body=has_body,
        depends_on=tuple(depends),
    )


def _check_dependencies(members: list[Member]) -> None:
    """Graph's dependsOn limits (module docstring); raises the whole batch's 400."""
    mixed = bad_request("Batch should be either fully sequential or fully parallel.")
    position = {m.id: i for i, m in enumerate(members)}
    if not any(m.depends_on for m in members):
        return
    for index, member in enumerate(members):
        for dep in member.depends_on:
            if dep not in position or dep == member.id:
                raise bad_request(f"Request '{member.id}' depends on unknown request '{dep}'.")
            if position[dep] > index:
                raise bad_request(f"Invalid dependency for request Id : {member.id}.")
        if len(member.depends_on) > 1 or (index > 0 and not member.depends_on):
            raise mixed


def is_sequential(members: list[Member]) -> bool:
    """A fully sequential batch: every member but the first depends on another one."""
    return len(members) > 1 and all(m.depends_on for m in members[1:])


def member_request(member: Member, outer: GraphRequest) -> GraphRequest | GraphProblem:
    """The member as a `GraphRequest` (relative url, its own headers, the outer auth)."""
    parts = urlsplit(member.url)
    if parts.scheme or parts.netloc:
        return bad_request("Batch request urls must be relative, like '/me/contacts'.")
    path = "/" + parts.path.lstrip("/")
    if path.lower().startswith("/v1.0/"):
        path = path[len("/v1.0") :]
    segments = tuple(unquote(s) for s in path.strip("/").split("/") if s)
    headers = dict(member.headers)
    if "authorization" in outer.headers:
        headers["authorization"] = outer.headers["authorization"]
    return GraphRequest(
        method=member.method,
        segments=segments,
        path=path,
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers,
        base_url=outer.base_url,
        body_json=member.body if member.has_body else None,
        request_id=str(uuid.uuid4()),
    )


async def run_batch(
    ctx: SandboxContext,
    outer: GraphRequest,
    authorize: Callable[[GraphRequest], GraphRequest] | None = None,
) -> tuple[GraphResponse, Effects]:
    """Answer a `$batch` HTTP request (latency, slots, members, after-effects).

    `authorize` checks each member as the outer request's token allows (identity platform):
    it returns the member to run or raises the member's `GraphProblem`.
    """
    members = parse_batch(outer.json())
    ctx.stats.batch(len(members))
    requests = {m.id: _authorized(member_request(m, outer), authorize) for m in members}
    config = ctx.faults.config
    sequential = is_sequential(members)
    by_mailbox: dict[str, list[str]] = {}
    for member in members:
        req = requests[member.id]
        name = mailbox_of(req.segments) if isinstance(req, GraphRequest) else None
        if name is not None:
            by_mailbox.setdefault(ctx.store.mailbox_key(name), []).append(member.id)
    wanted = {
        box: 1 if sequential else min(config.mailbox_concurrency or len(ids), len(ids))
        for box, ids in by_mailbox.items()
    }
    granted = {
        box: ctx.faults.throttle.acquire(box, n, config.mailbox_concurrency)
        for box, n in wanted.items()
    }
    effects = Effects()
    answers: list[dict[str, Any]] = []
    try:
        await ctx.latency()
        timer = ctx.service_timer()
        slots = Slots(by_mailbox, wanted, granted, sequential, timer)
        failed: set[str] = set()
        for member in members:
            req = requests[member.id]
            if any(dep in failed for dep in member.depends_on):
                response = json_response(
                    424,
                    {"error": {"code": "FailedDependency", "message": "Failed dependency."}},
                )
            elif isinstance(req, GraphProblem):
                response = problem_response(req, request_id=str(uuid.uuid4()))
            else:
                response = await _run_member(ctx, member, req, slots, effects)
            if response.status >= 400:
                failed.add(member.id)
            ctx.stats.inner(member.method, response.status)
            answers.append(_answer(member.id, response))
    finally:
        for box, count in granted.items():
            ctx.faults.throttle.release(box, count)
    if config.shuffle_batch_responses:
        ctx.faults.shuffle(answers)
    return json_response(200, {"responses": answers}), effects


def _authorized(
    req: GraphRequest | GraphProblem, authorize: Callable[[GraphRequest], GraphRequest] | None
) -> GraphRequest | GraphProblem:
    if authorize is None or isinstance(req, GraphProblem):
        return req
    try:
        return authorize(req)
    except GraphProblem as problem:
        return problem


@dataclass(frozen=True)
class Slots:
    """How one batch holds each mailbox it targets: its members' ids, the slots it wanted and
    got, and the timer that spends their service time."""

    by_mailbox: Mapping[str, list[str]]
    wanted: Mapping[str, int]
    granted: Mapping[str, int]
    sequential: bool
    timer: ServiceTimer

    def place(self, box: str, member_id: str) -> tuple[int, int]:
        """(wave, position in the wave) of a member among its mailbox's members."""
        return divmod(self.by_mailbox[box].index(member_id), self.wanted[box])

    async def operate(self, wave: int) -> None:
        """Spend one member's service time: after the chain's previous member, or in its wave."""
        if self.sequential:
            await self.timer.one_more()
        else:
            await self.timer.wave(wave)


async def _run_member(
    ctx: SandboxContext,
    member: Member,
    req: GraphRequest,
    slots: Slots,
    effects: Effects,
) -> GraphResponse:
    client_id = req.headers.get("client-request-id")

    def refuse(problem: GraphProblem) -> GraphResponse:
        return problem_response(problem, request_id=req.request_id, client_request_id=client_id)

    paths = (req.path, "/" + "/".join(req.segments))
    rule = ctx.faults.take_rule(member.method, paths, inner=True)
    if rule is not None and rule.before_processing:
        ctx.stats.fault()
        problem = rule.problem()
        assert problem is not None  # before_processing implies a status
        return refuse(problem)
    random_problem = ctx.faults.random_fault(inner=True)
    if random_problem is not None:
        ctx.stats.fault()
        return refuse(random_problem)
    name = mailbox_of(req.segments)
    if name is not None:
        box = ctx.store.mailbox_key(name)
        wave, position = slots.place(box, member.id)
        config = ctx.faults.config
        if position >= slots.granted[box]:
            ctx.stats.throttle()
            return refuse(faults_mod.concurrency_throttled(config.concurrency_retry_after_s))
        wait = ctx.faults.throttle.spend(box, config.window_requests, config.window_s)
        if wait is not None:
            ctx.stats.throttle()
            return refuse(faults_mod.budget_throttled(wait))
        await slots.operate(wave)
    response = handle(
        ctx.store, req, regenerate_display_name=ctx.faults.config.display_name_overwrite
    )
    if rule is not None:
        ctx.stats.fault()
        effects.hang_s = max(effects.hang_s, rule.hang_after_processing_s or 0.0)
        effects.drop = effects.drop or rule.drop
        problem = rule.problem()
        if problem is not None:
            response = refuse(problem)
    return response


def _answer(member_id: str, response: GraphResponse) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": member_id, "status": response.status}
    answer["headers"] = dict(response.headers)
    if response.body is not None:
        answer["body"] = response.body
    return answer
