"""The Schedules page (admins only): each target's schedule, last outcome, Run now and Pause.

`GET /schedules` lists every target of central365.toml: its mailboxes (list, group or the
signed-in person), folder, the cron in words with its time zone, the next run, whether it is
paused, and its last run's outcome per mailbox (linked to History).  `POST
/schedules/{name}/run` starts a run now; `POST /schedules/{name}/pause` pauses or resumes the
schedule (both CSRF-checked forms).  Run now then shows the run in History
(`/history/targets/{id}`, the page an alert e-mail links to).

What cannot be done is said before the click: Run now is disabled, with the reason, while the
target runs, when this installation cannot run targets (no app sign-in), and for a target of
the signed-in person (it runs only when they run it from the command line).
Anyone else gets a 403 page that names the role to ask for; the navigation hides the page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from central365.appdb import TargetRunStatus
from central365.core.errors import Central365Error
from central365.engine.schedules import ScheduleView, TargetBusy, UnknownTarget
from central365.web.deps import Caller, Csrf, RuntimeDep, SignedIn
from central365.web.errors import Forbidden, PageNotFound
from central365.web.pages import render_page
from central365.web.roles import Role
from central365.web.runtime import Runtime
from central365.web.schedule_words import cron_in_words, local_time

router = APIRouter(include_in_schema=False)

SCHEDULES_NEED_ADMIN = (
    f"Only people with the {Role.ADMIN.value} role may see and run the schedules: ask an "
    "administrator of central365 to assign it to you, or to run the target."
)
ME_RUNS_ITSELF = (
    "This target is the signed-in person's own mailbox: it runs only when they run it "
    "(central365 sync --target {name})."
)
TargetName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


def schedules_admin(caller: SignedIn) -> Caller:
    """The caller, if an admin; else a 403 naming the role."""
    if not caller.is_admin:
        raise Forbidden(SCHEDULES_NEED_ADMIN, role=Role.ADMIN.value)
    return caller


def schedules_admin_post(caller: Csrf) -> Caller:
    """An admin's POST, its CSRF token checked."""
    return schedules_admin(caller)


ScheduleAdmin = Annotated[Caller, Depends(schedules_admin)]
ScheduleAdminPost = Annotated[Caller, Depends(schedules_admin_post)]


def run_now_refusal(runtime: Runtime, view: ScheduleView) -> str | None:
    """Why Run now cannot be pressed for this target, or None when it can."""
    if view.target.me:
        return ME_RUNS_ITSELF.format(name=view.name)
    refused = runtime.targets_refused
    if refused is not None:
        return refused
    if view.last_run is not None and view.last_run.status is TargetRunStatus.RUNNING:
        return f"A run of this target is going (run {view.last_run.id}): wait for it to end."
    return None


def _rows(runtime: Runtime) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for view in runtime.schedules.list_schedules():
        target = view.target
        rows.append(
            {
                "view": view,
                "who": (
                    "The signed-in person's own mailbox"
                    if target.me
                    else f"Members of the Entra group {target.group}"
                    if target.group is not None
                    else ", ".join(target.mailboxes)
                ),
                "when": (
                    cron_in_words(view.cron, view.timezone)
                    if view.cron is not None and view.timezone is not None
                    else None
                ),
                "next_run": (
                    local_time(view.next_run, view.timezone)
                    if view.next_run is not None and view.timezone is not None
                    else None
                ),
                "refusal": run_now_refusal(runtime, view),
            }
        )
    return rows


def _page(
    request: Request,
    runtime: Runtime,
    caller: Caller,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "rows": _rows(runtime),
        "problem": problem,
        "started": request.query_params.get("started"),
        "TargetRunStatus": TargetRunStatus,
    }
    return render_page(
        request,
        "schedules.html",
        context,
        status_code=status_code,
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


@router.get("/schedules")
def schedules(request: Request, caller: ScheduleAdmin, runtime: RuntimeDep) -> Response:
    return _page(request, runtime, caller)


@router.post("/schedules/{name}/run")
def run_now(
    request: Request, name: TargetName, caller: ScheduleAdminPost, runtime: RuntimeDep
) -> Response:
    try:
        view = runtime.schedules.schedule(name)
    except UnknownTarget as exc:
        raise PageNotFound(exc.message) from None
    refusal = run_now_refusal(runtime, view)
    if refusal is not None:
        return _page(request, runtime, caller, problem=refusal, status_code=409)
    try:
        target_run_id = runtime.schedules.run_now(name, caller.display_name)
    except TargetBusy as exc:
        return _page(request, runtime, caller, problem=exc.message, status_code=409)
    return RedirectResponse(f"/history/targets/{target_run_id}", status_code=303)


@router.post("/schedules/{name}/pause")
async def pause(
    request: Request,
    name: TargetName,
    caller: ScheduleAdminPost,
    runtime: RuntimeDep,
) -> Response:
    posted = await request.form()
    paused = posted.get("paused") == "yes"  # anything else resumes: the two buttons send these
    try:
        await run_in_threadpool(runtime.schedules.pause, name, paused, caller.display_name)
    except UnknownTarget as exc:
        raise PageNotFound(exc.message) from None
    except Central365Error as exc:
        return await run_in_threadpool(
            _page, request, runtime, caller, problem=exc.message, status_code=409
        )
    return RedirectResponse(f"/schedules#target-{name}", status_code=303)
