"""Starting a run from the homepage, and the run page with its live progress.

`POST /runs` takes the ticked keys, or `all_in_state` (the "select all N in this state" box),
and starts the run in the background; the browser goes to `/runs/{id}`, which renders the
progress as it stands (so a reload or a later visit shows it) and `app.js` polls
`/api/runs/{id}` to move the bar while the run goes.  Nothing ticked sends the person back to
the homepage with the explanation there.  A run page is shown only to who may see the run
(`Access.may_see_run`): a run into another mailbox answers 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from central365.appdb import RunRecord, RunStatus
from central365.web.actions import selection_of, start_run
from central365.web.deps import CallerAccess, Csrf, RunId, RuntimeDep, SignedIn
from central365.web.errors import Forbidden, PageNotFound
from central365.web.pages import render_page
from central365.web.roles import Access, Role, denied_advice
from central365.web.runtime import Runtime
from central365.web.views.home import parse_state

router = APIRouter(include_in_schema=False)

FAILURES_SHOWN = 500


def visible_run(runtime: Runtime, access: Access, run_id: int) -> RunRecord:
    """The run, if the caller may see it: 404 when there is none, 403 when it is another's."""
    run = runtime.runs.get(run_id)
    if run is None:
        raise PageNotFound(f"There is no run {run_id}.")
    if not access.may_see_run(run.mailbox):
        raise Forbidden(
            f"Run {run_id} wrote into another person's mailbox: only people with the "
            f"{Role.ADMIN.value} role see every run.",
            role=Role.ADMIN.value,
        )
    return run


@router.post("/runs")
def start(
    caller: Csrf,
    runtime: RuntimeDep,
    key: Annotated[list[str] | None, Form()] = None,
    all_in_state: Annotated[str, Form()] = "",
    from_state: Annotated[str, Form()] = "",
    allow_mass_change: Annotated[str, Form()] = "",
) -> Response:
    if not all_in_state and not any(k.strip() for k in key or []):
        tab = parse_state(from_state).value
        return RedirectResponse(f"/?state={tab}&nothing_selected=1", status_code=303)
    # A whole state wins over the ticked boxes: the person chose "all N in this state".
    selection = selection_of([], [all_in_state]) if all_in_state else selection_of(key or [], [])
    run = start_run(runtime, caller, selection, allow_mass_change=allow_mass_change == "on")
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@router.get("/runs/{run_id}")
def run_page(
    request: Request, run_id: RunId, caller: SignedIn, access: CallerAccess, runtime: RuntimeDep
) -> Response:
    run = visible_run(runtime, access, run_id)
    failures = runtime.runs.outcomes(run_id, only_failed=True, limit=FAILURES_SHOWN)
    return render_page(
        request,
        "run.html",
        {
            "run": run,
            "failures": failures,
            "running": run.status is RunStatus.RUNNING,
            "stopped": run.status in (RunStatus.FAILED, RunStatus.INTERRUPTED),
            "advice": denied_advice(access.mode, run.error),
        },
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )
