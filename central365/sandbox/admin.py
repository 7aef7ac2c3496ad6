"""The sandbox's own API under `/_sandbox/` (no authentication): stats, faults, reset, seed.

    GET  /_sandbox/health           {"status": "ok"}
    GET  /_sandbox/stats            request counters (see `central365.sandbox.stats`)
    POST /_sandbox/stats/reset      zero the counters
    POST /_sandbox/reset            wipe every mailbox (fault settings and counters stay)
    GET  /_sandbox/faults           the fault config plus the scripted rules still pending
    PUT  /_sandbox/faults           replace the given config fields, e.g. {"latency_ms": 50}
    GET  /_sandbox/faults/script    the scripted rules still pending
    POST /_sandbox/faults/script    replace the scripted rules: a list of rule objects
    DELETE /_sandbox/faults/script  drop every scripted rule
    POST /_sandbox/seed             {"mailbox"?, "folder", "contacts": [Graph JSON]} → folder
                                    (the mailbox must exist)
    GET  /_sandbox/mailboxes        [{"userPrincipalName", "id"}] of the mailboxes in use
    POST /_sandbox/mailboxes        {"userPrincipalName", "id"?} → 201: a mailbox that exists
    POST /_sandbox/move             {"mailbox"?, "contact", "folder"} → the contact moved, as a
                                    user dragging it in Outlook (its regular id changes)
    POST /_sandbox/delta/expire     {"mailbox"?} → every contacts delta token issued so far for
                                    the mailbox answers 410 syncStateNotFound (a full round
                                    starts over), as when Exchange drops its sync state

Errors are JSON `{"error": "..."}` with status 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from central365.mailstore.problem import GraphProblem
from central365.mailstore.store import seed_folder
from central365.sandbox.context import SandboxContext
from central365.sandbox.faults import FaultRule


def _ctx(request: Request) -> SandboxContext:
    ctx: SandboxContext = request.app.state.sandbox
    return ctx


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise ValueError("the body is not valid JSON") from None


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    """Turn a ValueError or a store refusal into a 400 the caller can read."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except GraphProblem as problem:
            return JSONResponse({"error": problem.message, "code": problem.code}, 400)

    return wrapper


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def stats(request: Request) -> Response:
    ctx = _ctx(request)
    body = ctx.stats.to_json()
    body["peak_in_flight"] = dict(ctx.faults.throttle.peak_in_flight)
    return JSONResponse(body)


async def reset_stats(request: Request) -> Response:
    ctx = _ctx(request)
    ctx.stats.reset()
    ctx.faults.throttle.peak_in_flight.clear()
    return JSONResponse(ctx.stats.to_json())


async def reset(request: Request) -> Response:
    ctx = _ctx(request)
    ctx.store.reset()
    ctx.faults.throttle.reset()
    return JSONResponse({"status": "reset"})


async def get_faults(request: Request) -> Response:
    return JSONResponse(_ctx(request).faults.to_json())


async def put_faults(request: Request) -> Response:
    ctx = _ctx(request)
    changes = await _json(request)
    if not isinstance(changes, dict):
        raise ValueError("the body must be an object of fault settings")
    changes.pop("script", None)  # GET's output can be PUT back as it is
    ctx.faults.configure(ctx.faults.config.updated(changes))
    return JSONResponse(ctx.faults.to_json())


async def get_script(request: Request) -> Response:
    return JSONResponse(_ctx(request).faults.to_json()["script"])


async def put_script(request: Request) -> Response:
    ctx = _ctx(request)
    raw = await _json(request)
    if isinstance(raw, dict) and "rules" in raw:
        raw = raw["rules"]
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise ValueError("the body must be a list of rule objects")
    try:
        rules = [FaultRule.from_json(r) for r in raw]
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    ctx.faults.script(rules)
    return JSONResponse(ctx.faults.to_json()["script"])


async def clear_script(request: Request) -> Response:
    _ctx(request).faults.script([])
    return JSONResponse([])


async def list_mailboxes(request: Request) -> Response:
    store = _ctx(request).store
    return JSONResponse(
        [
            {"userPrincipalName": name, "id": store.mailbox_user_id(name)}
            for name in store.mailbox_names()
        ]
    )


async def add_mailbox(request: Request) -> Response:
    raw = await _json(request)
    name = raw.get("userPrincipalName") if isinstance(raw, dict) else None
    user_id = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(name, str) or "@" not in name or not isinstance(user_id, str | None):
        raise ValueError('the body must be {"userPrincipalName": "user@domain", "id"?: "guid"}')
    return JSONResponse(_ctx(request).store.add_mailbox(name, user_id), 201)


async def move(request: Request) -> Response:
    ctx = _ctx(request)
    raw = await _json(request)
    if not isinstance(raw, dict) or not all(
        isinstance(raw.get(k), str) for k in ("contact", "folder")
    ):
        raise ValueError('the body must be {"mailbox"?, "contact": "id", "folder": "id"}')
    mailbox = raw.get("mailbox") or ctx.store.default_mailbox
    return JSONResponse(ctx.store.move_contact(mailbox, raw["contact"], raw["folder"]))


async def seed(request: Request) -> Response:
    ctx = _ctx(request)
    raw = await _json(request)
    if not isinstance(raw, dict) or not isinstance(raw.get("folder"), str):
        raise ValueError('the body must be {"mailbox"?, "folder": "...", "contacts": [...]}')
    contacts = raw.get("contacts", [])
    if not isinstance(contacts, list):
        raise ValueError("contacts must be a list of Graph contact objects")
    mailbox = raw.get("mailbox") or ctx.store.default_mailbox
    folder = seed_folder(ctx.store, mailbox, raw["folder"], contacts)
    return JSONResponse({"mailbox": mailbox, "folder": folder, "seeded": len(contacts)}, 201)


async def expire_delta(request: Request) -> Response:
    ctx = _ctx(request)
    raw = await _json(request) if await request.body() else {}
    if not isinstance(raw, dict) or not isinstance(raw.get("mailbox", ""), str):
        raise ValueError('the body must be {"mailbox"?: "user@domain"} or empty')
    mailbox = raw.get("mailbox") or ctx.store.default_mailbox
    ctx.store.expire_delta_tokens(mailbox)
    return JSONResponse({"mailbox": mailbox, "expired": True})


def admin_routes() -> list[Route]:
    return [
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/stats/reset", reset_stats, methods=["POST"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/faults", get_faults, methods=["GET"]),
        Route("/_sandbox/faults", _guarded(put_faults), methods=["PUT"]),
        Route("/_sandbox/faults/script", get_script, methods=["GET"]),
        Route("/_sandbox/faults/script", _guarded(put_script), methods=["POST", "PUT"]),
        Route("/_sandbox/faults/script", clear_script, methods=["DELETE"]),
        Route("/_sandbox/seed", _guarded(seed), methods=["POST"]),
        Route("/_sandbox/mailboxes", list_mailboxes, methods=["GET"]),
        Route("/_sandbox/mailboxes", _guarded(add_mailbox), methods=["POST"]),
        Route("/_sandbox/move", _guarded(move), methods=["POST"]),
        Route("/_sandbox/delta/expire", _guarded(expire_delta), methods=["POST"]),
    ]
