"""`create_sandbox_app`: the Starlette app that speaks the Graph v1.0 subset under `/v1.0`.

Every Graph request goes through one pipeline (`_serve`):

1. count it; check the bearer token (401 `InvalidAuthenticationToken` without one); a JWT
   must be one the sandbox's identity platform signed, and its scopes / roles must allow the
   request (403), `/me` becoming its user's mailbox (`identity.graph_access`);
2. scripted fault rules, then random faults (answered without running the request);
3. the mailbox throttle: take a concurrency slot and spend one unit of budget, or 429;
4. sleep `latency_ms` (the round trip) while holding the slot, then `op_ms` (the mailbox's
   service time) for a request to a mailbox, then run the handler (`dispatch.handle`; the
   directory's `groups/...` paths go to `routes_groups`, with no mailbox slot);
5. after-processing rules: replace the answer, hang before answering, or drop the connection.

`$batch` follows the same steps with its own slot accounting (`batch_exec`).  With a state
file, every answer (Graph, admin or identity) waits until the writes it confirms are saved
(`SaveBeforeAnswer`), so a confirmed write survives `kill -9`.  The identity
platform's endpoints (`/{tenant}/oauth2/v2.0/...`, `identity.routes`) are mounted beside
`/v1.0`.  Nothing is built at import time; each call of `create_sandbox_app` has its own state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central365.mailstore.problem import GraphProblem
from central365.mailstore.store import SandboxStore
from central365.sandbox import faults as faults_mod
from central365.sandbox.admin import admin_routes
from central365.sandbox.batch_exec import Effects, run_batch
from central365.sandbox.context import SandboxContext
from central365.sandbox.dispatch import handle, mailbox_of
from central365.sandbox.faults import FaultConfig, FaultInjector
from central365.sandbox.identity.graph_access import GraphPrincipal, authorize, verify_bearer
from central365.sandbox.identity.registry import IdentityConfig
from central365.sandbox.identity.routes import identity_admin_routes, identity_routes
from central365.sandbox.identity.routes_consent import admin_consent_routes
from central365.sandbox.identity.service import IdentityService
from central365.sandbox.messages import GraphRequest, GraphResponse, problem_response
from central365.sandbox.persist import StateFile
from central365.sandbox.routes_groups import handle_groups, is_groups_path

API_PREFIX = "/v1.0"
_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def create_sandbox_app(
    store: SandboxStore,
    faults: FaultConfig | FaultInjector | None = None,
    *,
    token: str | None = None,
    state_path: Path | None = None,
    identity: IdentityConfig | IdentityService | None = None,
) -> Starlette:
    """Build the sandbox app over `store`.

    `faults` is a config (a fresh injector is made) or a ready injector to share.  `token`
    None accepts any non-empty opaque bearer token (sandbox-signed JWTs are always checked
    by their signature and scopes).  `identity` is the identity platform's directory (default:
    the demo app and users) or a ready service to share.  With `state_path`, the app's lifespan
    opens that SQLite file, writes the whole store into it, and every answer is sent only after
    the writes it confirms are saved (loading the file is the caller's job, see
    `central365.sandbox.server`).  `app.state.sandbox` holds the `SandboxContext`.
    """
    injector = (
        faults if isinstance(faults, FaultInjector) else FaultInjector(faults or FaultConfig())
    )
    service = identity if isinstance(identity, IdentityService) else IdentityService(identity)
    ctx = SandboxContext(store=store, faults=injector, token=token, identity=service)
    store.set_directory(partial(_directory_user, service))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if state_path is None:
            yield
            return
        state_file = StateFile(state_path)
        state_file.save_everything(store)
        ctx.state_file = state_file
        try:
            yield
        finally:
            ctx.state_file = None
            state_file.save_pending(store)
            state_file.close()

    async def graph_endpoint(request: Request) -> Response:
        return await _serve(ctx, request)

    routes = [
        *admin_routes(),
        *identity_admin_routes(service),
        Route(API_PREFIX + "/{path:path}", graph_endpoint, methods=_METHODS),
        *identity_routes(service),
        *admin_consent_routes(service),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, middleware=[Middleware(SaveBeforeAnswer, ctx=ctx)]
    )
    app.state.sandbox = ctx
    return app


def _directory_user(service: IdentityService, key: str) -> tuple[str, str] | None:
    """(UPN, object id) of a directory user: every user of the identity platform has a mailbox."""
    user = service.config.user(key)
    return None if user is None else (user.username, user.oid)


class SaveBeforeAnswer:
    """ASGI middleware: the state file is saved before a response's first byte is sent."""

    def __init__(self, app: ASGIApp, ctx: SandboxContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_when_saved(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self.ctx.save_writes()
            await send(message)

        await self.app(scope, receive, send_when_saved)


def _graph_request(request: Request, body: bytes) -> GraphRequest:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    # Segments are decoded one by one, so an encoded "/" inside an id stays inside it and a
    # UPN sent as "demo%40contoso.test" (as real clients send it) reads as the address.
    path = raw_path.decode("latin-1")[len(API_PREFIX) :]
    return GraphRequest(
        method=request.method.upper(),
        segments=tuple(unquote(s) for s in path.strip("/").split("/") if s),
        path=path,
        query=dict(request.query_params),
        headers={k.lower(): v for k, v in request.headers.items()},
        base_url=str(request.base_url).rstrip("/"),
        body_bytes=body,
        request_id=str(uuid.uuid4()),
    )


def _authenticate(ctx: SandboxContext, req: GraphRequest) -> GraphPrincipal | None:
    """The caller a sandbox JWT names, None for an accepted opaque token; raises a 401."""
    scheme, _, value = req.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise GraphProblem(401, "InvalidAuthenticationToken", "Access token is empty.")
    principal = verify_bearer(ctx.identity, value)
    if principal is None and ctx.token is not None and value != ctx.token:
        raise GraphProblem(
            401, "InvalidAuthenticationToken", "Access token validation failure. Invalid token."
        )
    return principal


async def _serve(ctx: SandboxContext, request: Request) -> Response:
    req = _graph_request(request, await request.body())
    ctx.stats.request(req.method)
    effects = Effects()
    try:
        response = await _pipeline(ctx, req, effects)
    except GraphProblem as problem:
        await ctx.latency()
        response = _refusal(req, problem)
    ctx.stats.response(response.status)
    if effects.hang_s > 0:
        await asyncio.sleep(effects.hang_s)
    if effects.drop:
        return DroppedResponse()
    return _to_starlette(req, response)


async def _pipeline(ctx: SandboxContext, req: GraphRequest, effects: Effects) -> GraphResponse:
    """Steps 1-5 of the module docstring; a refusal before running is raised."""
    principal = _authenticate(ctx, req)
    is_batch = req.segments == ("$batch",)
    if principal is not None and not is_batch:
        req = authorize(principal, req)
    paths = (req.path, "/" + "/".join(req.segments))
    rule = ctx.faults.take_rule(req.method, paths, inner=False)
    if rule is not None and rule.before_processing:
        ctx.stats.fault()
        problem = rule.problem()
        assert problem is not None  # before_processing implies a status
        raise problem
    random_problem = ctx.faults.random_fault(inner=False)
    if random_problem is not None:
        ctx.stats.fault()
        raise random_problem
    if is_batch:
        if req.method != "POST":
            raise GraphProblem(405, "ErrorInvalidRequest", "$batch accepts POST only.")
        guard = partial(authorize, principal) if principal is not None else None
        response, batch_effects = await run_batch(ctx, req, guard)
        effects.hang_s, effects.drop = batch_effects.hang_s, batch_effects.drop
    elif is_groups_path(req.segments):
        await ctx.latency()
        response = handle_groups(ctx.identity.config, principal, req)
    else:
        response = await _run_single(ctx, req)
    if rule is not None:
        ctx.stats.fault()
        effects.hang_s = max(effects.hang_s, rule.hang_after_processing_s or 0.0)
        effects.drop = effects.drop or rule.drop
        problem = rule.problem()
        if problem is not None:
            response = _refusal(req, problem)
    return response


async def _run_single(ctx: SandboxContext, req: GraphRequest) -> GraphResponse:
    """A plain request: hold one slot of its mailbox through the latency, the service time
    and the handler."""
    name = mailbox_of(req.segments)
    box = ctx.store.mailbox_key(name) if name is not None else None
    held = _take_slot(ctx, box) if box is not None else 0
    try:
        await ctx.latency()
        if box is not None:
            await ctx.service_timer().one_more()
        return handle(
            ctx.store, req, regenerate_display_name=ctx.faults.config.display_name_overwrite
        )
    finally:
        if box is not None:
            ctx.faults.throttle.release(box, held)


def _take_slot(ctx: SandboxContext, box: str) -> int:
    """One concurrency slot and one unit of budget for `box`, or a raised 429."""
    config = ctx.faults.config
    held = ctx.faults.throttle.acquire(box, 1, config.mailbox_concurrency)
    if held == 0:
        ctx.stats.throttle()
        raise faults_mod.concurrency_throttled(config.concurrency_retry_after_s)
    wait = ctx.faults.throttle.spend(box, config.window_requests, config.window_s)
    if wait is not None:
        ctx.faults.throttle.release(box, held)
        ctx.stats.throttle()
        raise faults_mod.budget_throttled(wait)
    return held


def _refusal(req: GraphRequest, problem: GraphProblem) -> GraphResponse:
    return problem_response(
        problem, request_id=req.request_id, client_request_id=req.headers.get("client-request-id")
    )


def _to_starlette(req: GraphRequest, response: GraphResponse) -> Response:
    headers = dict(response.headers)
    headers["request-id"] = req.request_id
    headers["client-request-id"] = req.headers.get("client-request-id", req.request_id)
    content: Any = b"" if response.body is None else json.dumps(response.body).encode()
    return Response(content, status_code=response.status, headers=headers)


class DroppedResponse(Response):
    """A response that never completes: the "drop" fault.

    Graph's writes can succeed while the answer is lost.  The headers go out promising a body
    that never comes, then the app raises: uvicorn closes the connection, and an httpx client
    sees `httpx.RemoteProtocolError`.  Over `httpx.ASGITransport` (no socket) the raised
    `RemoteProtocolError` reaches the client directly, so both paths look the same to it.
    """

    def __init__(self) -> None:
        super().__init__(b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1024")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"val', "more_body": True})
        raise httpx.RemoteProtocolError("sandbox fault: connection dropped after the write")
