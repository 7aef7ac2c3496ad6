"""The homepage: the plan of the caller's folder as tabs, one page of one state at a time.

`GET /?state=new|update|unchanged|non_actionable&q=…&page=N` answers from the cached plan (made
on the first visit); `POST /plan` ("Plan again") plans now.  The table, its checkboxes and the
"Synchronise selected" form are in `_plan_table.html`; the counts in `_summary.html`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from central365.model import ACTIONABLE_STATES, State
from central365.web.actions import plan_context
from central365.web.deps import Csrf, RuntimeDep, SignedIn
from central365.web.pages import render
from central365.web.plans import MAX_PER_PAGE, PER_PAGE, page_of

router = APIRouter(include_in_schema=False)


def parse_state(value: str | None) -> State:
    """The tab asked for; an unknown or missing one shows the first tab."""
    try:
        return State(value) if value else State.NEW
    except ValueError:
        return State.NEW


@router.get("/")
def homepage(
    request: Request,
    caller: SignedIn,
    runtime: RuntimeDep,
    state: str | None = None,
    q: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
) -> Response:
    context = plan_context(runtime, caller)
    chosen = parse_state(state)
    shown = page_of(context.cached, chosen, q, page, per_page)
    return render(
        request,
        "home.html",
        {
            "report": context.cached.report,
            "counts": {s: context.cached.count(s) for s in State},
            "target": context.target,
            "running": context.running,
            "page": shown,
            "actionable": chosen in ACTIONABLE_STATES,
        },
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


@router.post("/plan")
def plan_again(
    caller: Csrf, runtime: RuntimeDep, state: Annotated[str, Form()] = "new"
) -> Response:
    plan_context(runtime, caller, again=True)
    return RedirectResponse(f"/?state={parse_state(state).value}", status_code=303)
