"""Undoing a run from its History page: who may, what it would do, and starting it.

A person may undo a run only where they may synchronise (`web.roles`: a mailbox to act on, and
a token that may write contacts), and only a run into the folder they synchronise now (their
own mailbox in delegated mode, the configured one in app-only mode): an admin sees every run,
but undoes only into their own target.  Why an undo is refused is known before the click
(`undo_refusal`, shown beside a disabled button), and checked again when the form is posted.
The preview is the undo's plan as it stands (`SyncService.plan_undo`); the undo itself runs in
the background like a sync (`RunManager`, `RunRequest.undoes`) and plans again before writing.
"""

from __future__ import annotations

from dataclasses import dataclass

from central365.appdb import AuthChoice, RunRecord, RunStatus, run_lock_key
from central365.core.errors import Central365Error
from central365.core.execute import Selection
from central365.core.undo import UndoPlan
from central365.engine.runs import RunRequest
from central365.web.actions import access_under
from central365.web.deps import Caller
from central365.web.errors import Forbidden, InvalidInput
from central365.web.plans import plan_key
from central365.web.roles import Access, Role, write_refusal
from central365.web.runtime import Runtime
from central365.wiring.settings import Target, target_of


@dataclass(frozen=True, slots=True)
class UndoChance:
    """Whether the caller may undo a run now, and why not (None: they may)."""

    refusal: str | None
    #: The refusal is about the caller's rights (a role to ask for), not about the run.
    role: str | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def undo_chance(runtime: Runtime, caller: Caller, run: RunRecord) -> UndoChance:
    """Whether the caller may undo `run`, checked in the order a person can act on it."""
    app = runtime.load_app_settings()
    access = access_under(runtime, caller, app)
    if access.acts_on is None:
        return UndoChance(access.refusal or "You have no mailbox to write into.", _role(access))
    target = target_of(app, caller.user)
    if run_lock_key(run.mailbox, run.folder_name) != target.key:
        return UndoChance(
            f"Run {run.id} wrote into “{run.folder_name}” of {run.mailbox}: you can undo only "
            f"runs into “{target.folder_name}” of {target.label}, the folder you synchronise."
        )
    if run.status is RunStatus.RUNNING:
        return UndoChance(f"Run {run.id} is still running: undo it once it has ended.")
    if not runtime.journal.wrote_any(run.id):
        return UndoChance(f"Run {run.id} wrote no contact: there is nothing to undo.")
    try:
        granted = runtime.connector.token(caller.user, app).granted
    except Central365Error as exc:  # no sign-in kept for them, the identity platform refused
        return UndoChance(exc.message)
    refusal = write_refusal(app.auth_mode, granted)
    if refusal is not None:
        return UndoChance(refusal)
    going = runtime.run_manager.is_running(target.key)
    if going is not None:
        return UndoChance(f"Run {going} is writing into this folder: undo once it has ended.")
    return UndoChance(None)


def _role(access: Access) -> str | None:
    return Role.SYNC.value if access.mode is AuthChoice.APP_ONLY else None


def check_undo(runtime: Runtime, caller: Caller, run: RunRecord) -> Target:
    """The caller's target, once they may undo `run`; `Forbidden` or `InvalidInput` saying why."""
    chance = undo_chance(runtime, caller, run)
    if chance.refusal is not None:
        if chance.role is not None:
            raise Forbidden(chance.refusal, role=chance.role)
        raise InvalidInput(chance.refusal)
    return target_of(runtime.load_app_settings(), caller.user)


def undo_preview(runtime: Runtime, caller: Caller, run: RunRecord) -> UndoPlan:
    """What undoing `run` would do now (its folder read, nothing written)."""
    check_undo(runtime, caller, run)
    app = runtime.load_app_settings()
    with runtime.connector.undo_service(caller.user, app) as service:
        return service.plan_undo(run.id, runtime.journal)


def start_undo(runtime: Runtime, caller: Caller, run: RunRecord) -> RunRecord:
    """Start undoing `run` in the background; the new run (its `undoes` names `run`)."""
    target = check_undo(runtime, caller, run)
    app = runtime.load_app_settings()
    request = RunRequest(
        started_by=caller.display_name,
        selection=Selection(),
        service_factory=runtime.connector.undo_service_factory(caller.user, app),
        lock_key=target.key,
        mailbox=target.label,
        folder_name=target.folder_name,
        undoes=run.id,
    )
    started = runtime.run_manager.start(request)
    # The homepage's plan of the folder is stale once the undo has written: plan again then.
    access = access_under(runtime, caller, app)
    key = plan_key(target.key, access.plan_scope)
    runtime.remember_run(started.id, key, runtime.connector.service_factory(caller.user, app))
    return started
