"""History: every run, newest first, and one run's per-record outcomes (from appdb)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from central365.web.deps import RuntimeDep, SignedIn
from central365.web.errors import PageNotFound
from central365.web.pages import render

router = APIRouter(include_in_schema=False)

RUNS_PER_PAGE = 25
OUTCOMES_PER_PAGE = 200


@router.get("/history")
def history(
    request: Request,
    caller: SignedIn,
    runtime: RuntimeDep,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    total = runtime.runs.count()
    pages = max(1, math.ceil(total / RUNS_PER_PAGE))
    page = min(page, pages)
    runs = runtime.runs.recent(limit=RUNS_PER_PAGE, offset=(page - 1) * RUNS_PER_PAGE)
    return render(
        request,
        "history.html",
        {"runs": runs, "page": page, "pages": pages, "total": total},
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


@router.get("/history/{run_id}")
def history_run(
    request: Request,
    run_id: int,
    caller: SignedIn,
    runtime: RuntimeDep,
    page: Annotated[int, Query(ge=1)] = 1,
    failed: bool = False,
) -> Response:
    run = runtime.runs.get(run_id)
    if run is None:
        raise PageNotFound(f"There is no run {run_id}.")
    outcomes = runtime.runs.outcomes(
        run_id,
        only_failed=failed,
        limit=OUTCOMES_PER_PAGE + 1,  # one more tells whether there is a next page
        offset=(page - 1) * OUTCOMES_PER_PAGE,
    )
    return render(
        request,
        "history_run.html",
        {
            "run": run,
            "outcomes": outcomes[:OUTCOMES_PER_PAGE],
            "page": page,
            "has_next": len(outcomes) > OUTCOMES_PER_PAGE,
            "failed_only": failed,
        },
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )
