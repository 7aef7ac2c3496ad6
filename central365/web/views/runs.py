"""Starting a run from the homepage, and the run page with its live progress.

`POST /runs` takes the ticked keys, or `all_in_state` (the "select all N in this state" box),
and starts the run in the background; the browser goes to `/runs/{id}`, which renders the
progress as it stands (so a reload or a later visit shows it) and `app.js` polls
`/api/runs/{id}` to move the bar while the run goes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from central365.appdb import RunStatus
from central365.web.actions import selection_of, start_run
from central365.web.deps import Csrf, RuntimeDep, SignedIn
from central365.web.errors import PageNotFound
from central365.web.pages import render

router = APIRouter(include_in_schema=False)

FAILURES_SHOWN = 500


@router.post("/runs")
def start(
    caller: Csrf,
    runtime: RuntimeDep,
    key: Annotated[list[str] | None, Form()] = None,
    all_in_state: Annotated[str, Form()] = "",
) -> Response:
    # A whole state wins over the ticked boxes: the person chose "all N in this state".
    selection = selection_of([], [all_in_state]) if all_in_state else selection_of(key or [], [])
    run = start_run(runtime, caller, selection)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: int, caller: SignedIn, runtime: RuntimeDep) -> Response:
    run = runtime.runs.get(run_id)
    if run is None:
        raise PageNotFound(f"There is no run {run_id}.")
    failures = runtime.runs.outcomes(run_id, only_failed=True, limit=FAILURES_SHOWN)
    return render(
        request,
        "run.html",
        {"run": run, "failures": failures, "running": run.status is RunStatus.RUNNING},
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )
