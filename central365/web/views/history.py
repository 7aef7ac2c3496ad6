"""History: the runs the caller may see, newest first, one run's per-record outcomes, and
undoing a run (its preview, then the undo as a run of its own: `web.undo_actions`).

An admin sees every run; anyone else the runs into the mailboxes they may act on or own
(`Access.visible_mailboxes`), and a 403 for another's run.

A target's run (scheduled, Run now) is shown as one run with its mailboxes: the mailbox runs
of one target run on a page are grouped under a row for the target run, which links to its
own page (`/history/targets/{id}`: every mailbox with its outcome, including those that never
got a run of their own — refused before writing, or still queued).  Each mailbox keeps its
own run page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from central365.appdb import RunRecord, ScheduleRepository, TargetRunRecord
from central365.core.mapping import field_label
from central365.core.undo import UndoAction
from central365.web.deps import CallerAccess, Csrf, PageNumber, RunId, RuntimeDep, SignedIn
from central365.web.errors import Forbidden, PageNotFound
from central365.web.pages import render_page
from central365.web.roles import Role, denied_advice
from central365.web.undo_actions import start_undo, undo_chance, undo_preview
from central365.web.views.runs import visible_run

router = APIRouter(include_in_schema=False)

RUNS_PER_PAGE = 25
OUTCOMES_PER_PAGE = 200
#: Contacts an undo's preview lists.
UNDO_ROWS = 500
ACTION_LABELS = {
    UndoAction.RESTORE: "Restore",
    UndoAction.DELETE: "Delete",
    UndoAction.RECREATE: "Make again",
    UndoAction.SKIP: "Leave as it is",
}


@router.get("/history")
def history(
    request: Request,
    caller: SignedIn,
    access: CallerAccess,
    runtime: RuntimeDep,
    page: PageNumber = 1,
) -> Response:
    mailboxes = access.visible_mailboxes
    total = runtime.runs.count(mailboxes=mailboxes)
    pages = max(1, math.ceil(total / RUNS_PER_PAGE))
    page = min(page, pages)
    runs = runtime.runs.recent(
        limit=RUNS_PER_PAGE, offset=(page - 1) * RUNS_PER_PAGE, mailboxes=mailboxes
    )
    return render_page(
        request,
        "history.html",
        {
            "runs": runs,
            "entries": grouped(runtime.schedules.repository, runs),
            "page": page,
            "pages": pages,
            "total": total,
            "every_run": mailboxes is None,
        },
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


@dataclass(frozen=True)
class HistoryEntry:
    """One row group of History: a plain run, or a target run with its mailboxes' runs."""

    run: RunRecord | None = None
    target_run: TargetRunRecord | None = None
    runs: tuple[RunRecord, ...] = ()


def grouped(schedules: ScheduleRepository, runs: list[RunRecord]) -> list[HistoryEntry]:
    """The page's runs with each target run's mailbox runs gathered where its first appears."""
    owners = schedules.target_run_of([r.id for r in runs])
    target_runs = {i: schedules.target_run(i) for i in set(owners.values())}
    members: dict[int, list[RunRecord]] = {}
    entries: list[HistoryEntry | int] = []
    for run in runs:
        owner = owners.get(run.id)
        if owner is None or target_runs.get(owner) is None:
            entries.append(HistoryEntry(run=run))
            continue
        if owner not in members:
            members[owner] = []
            entries.append(owner)
        members[owner].append(run)
    return [
        e
        if isinstance(e, HistoryEntry)
        else HistoryEntry(target_run=target_runs[e], runs=tuple(members[e]))
        for e in entries
    ]


@router.get("/history/targets/{target_run_id}")
def history_target_run(
    request: Request,
    target_run_id: RunId,
    caller: SignedIn,
    access: CallerAccess,
    runtime: RuntimeDep,
) -> Response:
    found = runtime.schedules.target_run(target_run_id)
    if found is None:
        raise PageNotFound(f"There is no target run {target_run_id}.")
    mailboxes = [m for m in found.mailboxes if access.may_see_run(m.mailbox)]
    if found.mailboxes and not mailboxes:
        raise Forbidden(
            f"Target run {target_run_id} wrote into other people's mailboxes: only people with "
            f"the {Role.ADMIN.value} role see every run.",
            role=Role.ADMIN.value,
        )
    if not found.mailboxes and access.visible_mailboxes is not None:
        raise Forbidden(
            f"Only people with the {Role.ADMIN.value} role see target run {target_run_id}.",
            role=Role.ADMIN.value,
        )
    return render_page(
        request,
        "history_target_run.html",
        {
            "target_run": found,
            "mailboxes": mailboxes,
            "every_mailbox": len(mailboxes) == len(found.mailboxes),
        },
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


@router.get("/history/{run_id}")
def history_run(
    request: Request,
    run_id: RunId,
    caller: SignedIn,
    access: CallerAccess,
    runtime: RuntimeDep,
    page: PageNumber = 1,
    failed: bool = False,
) -> Response:
    run = visible_run(runtime, access, run_id)
    outcomes = runtime.runs.outcomes(
        run_id,
        only_failed=failed,
        limit=OUTCOMES_PER_PAGE + 1,  # one more tells whether there is a next page
        offset=(page - 1) * OUTCOMES_PER_PAGE,
    )
    return render_page(
        request,
        "history_run.html",
        {
            "run": run,
            "outcomes": outcomes[:OUTCOMES_PER_PAGE],
            "page": page,
            "has_next": len(outcomes) > OUTCOMES_PER_PAGE,
            "failed_only": failed,
            "advice": denied_advice(access.mode, run.error),
            "undo": undo_chance(runtime, caller, run),
        },
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


@router.get("/history/{run_id}/undo")
def undo_page(
    request: Request,
    run_id: RunId,
    caller: SignedIn,
    access: CallerAccess,
    runtime: RuntimeDep,
) -> Response:
    """What undoing the run would do now, and the button that does it."""
    run = visible_run(runtime, access, run_id)
    plan = undo_preview(runtime, caller, run)
    return render_page(
        request,
        "history_undo.html",
        {
            "run": run,
            "plan": plan,
            "rows": UNDO_ROWS,
            "counts": {action.value: plan.count(action) for action in UndoAction},
            "ACTION_LABELS": ACTION_LABELS,
            "field_label": field_label,
        },
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


@router.post("/history/{run_id}/undo")
def undo_run(run_id: RunId, caller: Csrf, access: CallerAccess, runtime: RuntimeDep) -> Response:
    """Start the undo as a run of its own; the browser follows it on its run page."""
    run = visible_run(runtime, access, run_id)
    started = start_undo(runtime, caller, run)
    return RedirectResponse(f"/runs/{started.id}", status_code=303)
