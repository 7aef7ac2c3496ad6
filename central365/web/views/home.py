"""The homepage: the plan of the caller's folder as tabs, one page of one state at a time.

`GET /?state=new|update|unchanged|non_actionable&q=…&page=N` answers from the cached plan (made
on the first visit); `?state=orphans` is the fifth view, "Only in Office 365" (contacts central365
wrote whose record is gone, inactive or non-actionable; an admin may delete chosen ones,
`views/orphans.py`); `POST /plan` ("Plan again") plans now.  A plan that takes longer than
`Runtime.plan_wait` goes on in the background and the page shows its progress instead
(`_planning.html`; `app.js` polls `/api/plan/progress` and reloads when it is made).  The
table, its checkboxes and the
"Synchronise selected" form are in `_plan_table.html`; the counts in `_summary.html`.

A person with no mailbox to act on (app-only mode without the Sync or Admin role) sees why and
which role to ask for, not the shared mailbox's plan; a person whose token may not write
contacts sees the Synchronise button disabled with the reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from central365.core.model import ACTIONABLE_STATES, State
from central365.web.actions import PlanContext, PlanUnderway, delete_refusal, plan_or_progress
from central365.web.deps import CallerAccess, Csrf, PageNumber, RuntimeDep, SignedIn
from central365.web.pages import render_page
from central365.web.plans import MAX_PER_PAGE, PER_PAGE, orphan_page_of, page_of
from central365.wiring.settings import guard_thresholds_of

router = APIRouter(include_in_schema=False)

#: Shown when "Synchronise selected" was pressed with nothing ticked (`?nothing_selected=1`).
NOTHING_SELECTED = (
    "Nothing was synchronised: tick the records to synchronise first, or “Select all … in "
    "this state”, then press Synchronise selected."
)


#: Shown when "Delete selected" was pressed with nothing ticked.
NOTHING_TO_DELETE = "Nothing was deleted: tick the contacts to delete first."

#: The fifth view's name in `?state=`: the folder's contacts only in Office 365.
ORPHANS_VIEW = "orphans"


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
    access: CallerAccess,
    runtime: RuntimeDep,
    state: str | None = None,
    q: str = "",
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
    nothing_selected: bool = False,
) -> Response:
    if access.acts_on is None:
        return render_page(
            request,
            "home.html",
            {"refusal": access.refusal, "underway": None},
            user_name=caller.user.name,
            csrf_token=caller.csrf_token,
        )
    context = plan_or_progress(runtime, caller)
    if isinstance(context, PlanUnderway):
        return render_page(
            request,
            "home.html",
            {"refusal": None, "underway": context, "running": context.running, "notice": None},
            user_name=caller.user.name,
            csrf_token=caller.csrf_token,
        )
    if state == ORPHANS_VIEW:
        return _orphans_view(request, caller, runtime, context, q, page, per_page, nothing_selected)
    chosen = parse_state(state)
    shown = page_of(context.cached, chosen, q, page, per_page)
    return render_page(
        request,
        "home.html",
        {
            "refusal": None,
            "underway": None,
            "report": context.cached.report,
            "counts": {s: context.cached.count(s) for s in State},
            "target": context.target,
            "running": context.running,
            "page": shown,
            "actionable": chosen in ACTIONABLE_STATES,
            "sync_refusal": context.sync_refusal,
            "notice": NOTHING_SELECTED if nothing_selected else None,
            "may_allow_mass_change": context.access.is_admin,
            "view": chosen.value,
        },
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


def _orphans_view(
    request: Request,
    caller: SignedIn,
    runtime: RuntimeDep,
    context: PlanContext,
    query: str,
    page: int,
    per_page: int,
    nothing_selected: bool,
) -> Response:
    """The "Only in Office 365" view: the orphans with why, and the count of people's own."""
    plan = context.cached.report.plan
    thresholds = guard_thresholds_of(runtime.settings, context.app)
    # The most a delete may take without "I understand" (`core.guards.delete_guard`).
    percent = thresholds.delete_percent
    allowed = max(int(plan.folder_size * percent // 100), thresholds.min_contacts - 1)
    return render_page(
        request,
        "home.html",
        {
            "refusal": None,
            "underway": None,
            "report": context.cached.report,
            "counts": {s: context.cached.count(s) for s in State},
            "target": context.target,
            "running": context.running,
            "orphans": orphan_page_of(context.cached, query, page, per_page),
            "actionable": False,
            "sync_refusal": context.sync_refusal,
            "delete_refusal": delete_refusal(context),
            "delete_allowed": allowed,
            "delete_percent": percent,
            "notice": NOTHING_TO_DELETE if nothing_selected else None,
            "may_allow_mass_change": context.access.is_admin,
            "view": ORPHANS_VIEW,
        },
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


@router.post("/plan")
def plan_again(
    caller: Csrf, runtime: RuntimeDep, state: Annotated[str, Form()] = "new"
) -> Response:
    plan_or_progress(runtime, caller, again=True)  # the page shows its progress if it goes on
    view = ORPHANS_VIEW if state == ORPHANS_VIEW else parse_state(state).value
    return RedirectResponse(f"/?state={view}", status_code=303)
