"""The JSON API beside the pages: the plan, starting a run, a run's progress and outcomes,
undoing a run (its preview, then the undo as a run).

Same sign-in as the pages (the session cookie, then the `X-CSRF-Token` header is required for
POST), or `Authorization: Bearer <access token>` issued by the configured authority for this
app's API (`central365.web.bearer`: a person's token with the `Runs.ReadWrite` scope, or an
application's with the `Central365.Sync` or `Central365.Admin` app role).  The same rules as on
the pages decide what the caller may see and do (`central365.web.roles`); a refusal is a 403
with `{"error": …, "role_needed": …}`.
The shapes reuse `central365.engine.serialize` (the CLI's `--json`), so scripts see one vocabulary.
The schema is served at `/api/openapi.json`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Annotated, Any, get_type_hints

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, create_model

from central365.appdb import OutcomeRecord, RunRecord
from central365.core.model import State
from central365.engine.serialize import item_json, plan_envelope, undo_json
from central365.web.actions import plan_context, plan_status, selection_of, start_run
from central365.web.deps import CallerAccess, Csrf, Offset, PageNumber, RunId, RuntimeDep, SignedIn
from central365.web.plans import MAX_PER_PAGE, PER_PAGE, page_of
from central365.web.undo_actions import start_undo, undo_preview
from central365.web.views.runs import visible_run

router = APIRouter(prefix="/api", tags=["api"])


class ErrorOut(BaseModel):
    """Every refusal and failure: one sentence saying what to do, and the details if any.

    `fields` names the request's fields at fault (400), `run_id` the run already writing into
    the folder (409), `role_needed` the app role a 403 asks for.
    """

    error: str
    problems: list[str] = Field(default_factory=list)
    fields: dict[str, str] | None = None
    run_id: int | None = None
    role_needed: str | None = None


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route may give, documented in the schema with their shape."""
    words = {
        400: "The request's values cannot be used (see `fields`).",
        401: "Not signed in, or the bearer token is not one for this API.",
        403: "Signed in, but not allowed (see `role_needed`), or the CSRF token is missing.",
        404: "No such run, or not one the caller may see.",
        409: "Another run writes into the folder, or the settings cannot be used yet.",
        413: "The request body is larger than the API takes.",
        422: "A parameter or the body does not match this schema.",
        502: "Central, Office 365 or the sign-in service could not be used.",
    }
    return {status: {"model": ErrorOut, "description": words[status]} for status in statuses}


#: Every route: sign-in, permission, body size and schema refusals.
_ALWAYS = (401, 403, 413, 422)


class StartRun(BaseModel):
    """What to synchronise: Central ids, or whole states (`new`, `update`); not both empty."""

    keys: list[str] = Field(default_factory=list, max_length=100_000)
    states: list[str] = Field(default_factory=list, max_length=2)
    #: Write even when the plan trips a guard against mass changes (admins only).
    allow_mass_change: bool = False


class RunStarted(BaseModel):
    id: int
    url: str


def _fields_of(record: type, renamed: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A record dataclass's fields as pydantic field definitions: each required, enums as text.

    The API's shapes follow the records they show, so a field added to `RunRecord` or
    `OutcomeRecord` is in the API (and its schema) without being declared twice.
    """
    hints = get_type_hints(record)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(record):
        kind = hints[field.name]
        if isinstance(kind, type) and issubclass(kind, Enum):
            kind = str
        fields[(renamed or {}).get(field.name, field.name)] = (kind, ...)
    return fields


def _values_of(record: Any, renamed: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A record's values under the API's names, enums as their text."""
    return {
        (renamed or {}).get(field.name, field.name): (
            value.value if isinstance(value := getattr(record, field.name), Enum) else value
        )
        for field in dataclasses.fields(record)
    }


#: The API says `folder` where the record says `folder_name`.
_RUN_NAMES = MappingProxyType({"folder_name": "folder"})

OutcomeOut = create_model("OutcomeOut", **_fields_of(OutcomeRecord))
RunOut = create_model(
    "RunOut",
    **_fields_of(RunRecord, _RUN_NAMES),
    done=(int, ...),
    duration_s=(float | None, ...),
    failures=(list[OutcomeOut], ...),  # type: ignore[valid-type]
    outcomes=(list[OutcomeOut], ...),  # type: ignore[valid-type]
)


def run_out(
    run: RunRecord, failures: list[OutcomeRecord], outcomes: list[OutcomeRecord]
) -> BaseModel:
    shown: BaseModel = RunOut(
        **_values_of(run, _RUN_NAMES),
        done=run.done,
        duration_s=run.duration.total_seconds() if run.duration is not None else None,
        failures=[OutcomeOut(**_values_of(o)) for o in failures],
        outcomes=[OutcomeOut(**_values_of(o)) for o in outcomes],
    )
    return shown


@router.get("/plan", responses=_errors(*_ALWAYS, 409, 502))
def get_plan(
    caller: SignedIn,
    runtime: RuntimeDep,
    state: State = State.NEW,
    q: str = "",
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
) -> dict[str, Any]:
    """One page of one state of the current plan, with the counts (planned on first use)."""
    context = plan_context(runtime, caller)
    report = context.cached.report
    shown = page_of(context.cached, state, q, page, per_page)
    counts = {s: context.cached.count(s) for s in State}
    return plan_envelope(report, counts) | {
        "running_run": context.running,
        "sync_refusal": context.sync_refusal,
        "state": shown.state.value,
        "q": shown.query,
        "page": shown.page,
        "pages": shown.pages,
        "per_page": shown.per_page,
        "matching": shown.matching,
        "items": [item_json(item) for item in shown.items],
    }


@router.get("/plan/progress", responses=_errors(*_ALWAYS))
def get_plan_progress(caller: SignedIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Where the caller's plan is (`none`, `planning`, `ready`, `failed`) and, while one is
    being made in the background, how far it has got; starts nothing."""
    status, progress = plan_status(runtime, caller)
    return {
        "status": status.value,
        "stage": progress.stage.value if progress is not None else None,
        "records_read": progress.records_read if progress is not None else None,
        "contacts_read": progress.contacts_read if progress is not None else None,
        "planned": progress.planned if progress is not None else None,
        "records": progress.records if progress is not None else None,
    }


@router.post("/plan", status_code=200, responses=_errors(*_ALWAYS, 409, 502))
def plan_again(caller: Csrf, runtime: RuntimeDep) -> dict[str, Any]:
    """Plan now; answers the counts and when the plan was made."""
    context = plan_context(runtime, caller, again=True)
    return {
        "counts": {s.value: context.cached.count(s) for s in State},
        "excluded": context.cached.report.plan.excluded,
        "made_at": context.cached.report.made_at.isoformat(),
    }


@router.post("/runs", status_code=202, responses=_errors(*_ALWAYS, 400, 409, 502))
def post_run(body: StartRun, caller: Csrf, runtime: RuntimeDep) -> RunStarted:
    """Start a run with a selection; 409 while another run writes into the same folder."""
    run = start_run(
        runtime,
        caller,
        selection_of(body.keys, body.states),
        allow_mass_change=body.allow_mass_change,
    )
    return RunStarted(id=run.id, url=f"/runs/{run.id}")


@router.get("/runs/{run_id}", response_model=RunOut, responses=_errors(*_ALWAYS, 404))
def get_run(
    run_id: RunId,
    access: CallerAccess,
    runtime: RuntimeDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=0, le=1000)] = 100,
) -> BaseModel:
    """Progress and counters, the failures (first 500), and a page of every outcome."""
    run = visible_run(runtime, access, run_id)
    failures = runtime.runs.outcomes(run_id, only_failed=True, limit=500)
    outcomes = runtime.runs.outcomes(run_id, limit=limit, offset=offset) if limit else []
    return run_out(run, failures, outcomes)


@router.get("/runs/{run_id}/undo", responses=_errors(*_ALWAYS, 400, 404, 409, 502))
def get_undo(
    run_id: RunId, caller: SignedIn, access: CallerAccess, runtime: RuntimeDep
) -> dict[str, Any]:
    """What undoing the run would do now: `undo --json --dry-run`'s shape; 400 saying why
    when the caller may not undo it (another folder than theirs, still running, nothing
    written, a token that may not write)."""
    run = visible_run(runtime, access, run_id)
    return undo_json(undo_preview(runtime, caller, run))


@router.post(
    "/runs/{run_id}/undo", status_code=202, responses=_errors(*_ALWAYS, 400, 404, 409, 502)
)
def post_undo(run_id: RunId, caller: Csrf, access: CallerAccess, runtime: RuntimeDep) -> RunStarted:
    """Start undoing the run, as a run of its own (it plans again before writing); 409 while
    another run writes into the folder."""
    run = visible_run(runtime, access, run_id)
    started = start_undo(runtime, caller, run)
    return RunStarted(id=started.id, url=f"/runs/{started.id}")
