"""What the pages and the JSON API both do: get the plan of the caller's target, start a run.

One place for each, so `/` and `/api/plan` show the same plan, and a run started from the page
or from the API is checked the same way (STYLE habit 13: shared view data): the caller must
have a mailbox to act on (`central365.web.roles`), and to start a run their token (delegated)
or the app's (app-only) must be allowed to write contacts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from central365.appdb import AppSettings, AuthChoice, RunRecord
from central365.core.errors import MassChangeRefused
from central365.core.execute import Selection
from central365.core.guards import check_guards
from central365.core.model import ACTIONABLE_STATES, State
from central365.core.orphans import chosen_orphans, orphan_guards
from central365.engine.progress import PlanProgress
from central365.engine.runs import RunRequest
from central365.engine.service import PlanReport
from central365.web.deps import Caller
from central365.web.errors import Forbidden, InvalidInput
from central365.web.plans import CachedPlan, PlanJob, plan_key
from central365.web.roles import Access, Role, access_for, write_refusal
from central365.web.runtime import Runtime
from central365.wiring.settings import Target, guard_thresholds_of, target_of

MAX_KEYS = 100_000
#: How a person allows a mass change on the homepage, and who may.
MASS_CHANGE_ADVICE = (
    "Nothing was written: check Central and plan again, or, if the change is intended, an "
    "administrator ticks “I understand” in the warning above the tabs and synchronises."
)
MASS_CHANGE_ADMIN_ONLY = (
    "Only an administrator may allow a mass change: ask one to check the plan and synchronise it."
)
#: Why a person who is not an admin cannot delete orphans (shown before the click).
DELETE_ADMIN_ONLY = (
    "Only an administrator may delete contacts from Office 365: ask one to check these "
    "contacts and delete the ones that should go."
)
MASS_DELETE_ADVICE = (
    "Nothing was deleted: choose fewer contacts, or tick “I understand” to allow deleting "
    "this many."
)


@dataclass(frozen=True, slots=True)
class PlanContext:
    """The caller's target, its plan, the run writing into it now (if any), and why the
    caller could not synchronise into it (None when they can)."""

    app: AppSettings
    access: Access
    target: Target
    cached: CachedPlan
    running: int | None
    sync_refusal: str | None


def access_under(runtime: Runtime, caller: Caller, app: AppSettings) -> Access:
    """The caller's access under these settings (the ones the action goes on to use)."""
    return access_for(
        caller.person,
        mode=app.auth_mode,
        target_mailbox=app.target_mailbox,
        admins=runtime.settings.admins,
    )


def acting_target(runtime: Runtime, caller: Caller, app: AppSettings) -> tuple[Access, Target]:
    """The caller's access and target; `Forbidden` (naming the role) when they have none."""
    access = access_under(runtime, caller, app)
    if access.acts_on is None:
        role = Role.SYNC.value if app.auth_mode is AuthChoice.APP_ONLY else None
        raise Forbidden(access.refusal or "You have no mailbox to synchronise into.", role=role)
    return access, target_of(app, caller.user)


@dataclass(frozen=True, slots=True)
class PlanUnderway:
    """The caller's target, whose plan is being made in the background: how far it has got."""

    target: Target
    progress: PlanProgress
    running: int | None


def plan_context(runtime: Runtime, caller: Caller, *, again: bool = False) -> PlanContext:
    """The cached plan of the caller's target; planned now on first use or when `again`.

    Raises `Forbidden` when the caller has no mailbox to act on (app-only mode without role).
    """
    app, access, target, key, make = _plan_maker(runtime, caller)
    running = runtime.runs.running(target.key)
    if again:
        cached = runtime.plans.refresh(key, make)
    else:
        cached = runtime.plans.get_or_make(key, make, run_going=running is not None)
    return _context(runtime, caller, app, access, target, cached, running)


def plan_or_progress(
    runtime: Runtime, caller: Caller, *, again: bool = False
) -> PlanContext | PlanUnderway:
    """As `plan_context`, but a plan not made within `runtime.plan_wait` seconds goes on in the
    background and its progress is answered instead (the homepage shows it and polls)."""
    app, access, target, key, make = _plan_maker(runtime, caller)
    running = runtime.runs.running(target.key)
    found = runtime.plans.wait_for(
        key, make, runtime.plan_wait, again=again, run_going=running is not None
    )
    if isinstance(found, PlanJob):
        return PlanUnderway(target, found.progress, running)
    return _context(runtime, caller, app, access, target, found, running)


class PlanStatus(StrEnum):
    """Where the caller's plan is.  The values are the stable codes of `/api/plan/progress`."""

    NONE = "none"  # no plan made yet, none being made
    PLANNING = "planning"
    READY = "ready"
    FAILED = "failed"  # the next visit of the homepage says why


def plan_status(runtime: Runtime, caller: Caller) -> tuple[PlanStatus, PlanProgress | None]:
    """Where the caller's plan is, and the progress of the one being made (if any); starts
    nothing.  `Forbidden` when the caller has no mailbox to act on."""
    app = runtime.load_app_settings()
    access, target = acting_target(runtime, caller, app)
    key = plan_key(target.key, access.plan_scope)
    job = runtime.plans.job(key)
    if job is None:
        return (PlanStatus.READY if runtime.plans.get(key) else PlanStatus.NONE), None
    if not job.done.is_set():
        return PlanStatus.PLANNING, job.progress
    return (PlanStatus.FAILED if job.error is not None else PlanStatus.READY), job.progress


def _plan_maker(
    runtime: Runtime, caller: Caller
) -> tuple[AppSettings, Access, Target, str, Callable[..., PlanReport]]:
    app = runtime.load_app_settings()
    access, target = acting_target(runtime, caller, app)
    key = plan_key(target.key, access.plan_scope)

    def plan_now(progress: PlanProgress | None = None) -> PlanReport:
        with runtime.connector.service(caller.user, app) as service:
            # The journal: the last run's Central size (the `source_shrunk` guard) and the
            # baselines of the three-way compare (Outlook's edits since the last write).
            return service.plan(journal=runtime.journal, progress=progress)

    return app, access, target, key, plan_now


def _context(
    runtime: Runtime,
    caller: Caller,
    app: AppSettings,
    access: Access,
    target: Target,
    cached: CachedPlan,
    running: int | None,
) -> PlanContext:
    granted = runtime.connector.token(caller.user, app).granted
    refusal = write_refusal(app.auth_mode, granted)
    return PlanContext(app, access, target, cached, running, refusal)


def selection_of(keys: Iterable[str], states: Iterable[str]) -> Selection:
    """The records a person ticked, or whole states; refuses anything else.

    Only `new` and `update` can be chosen as a whole: a state selection never means records
    that have nothing to do (the engine skips them anyway).
    """
    chosen_keys = frozenset(k.strip() for k in keys if k.strip())
    chosen_states: set[State] = set()
    for value in states:
        try:
            state = State(value.strip())
        except ValueError:
            raise InvalidInput(f"There is no state called {value!r}.") from None
        if state not in ACTIONABLE_STATES:
            raise InvalidInput(
                "Only the records new to Office 365 or requiring an update can be synchronised."
            )
        chosen_states.add(state)
    if len(chosen_keys) > MAX_KEYS:
        raise InvalidInput(f"Select at most {MAX_KEYS:,} records, or a whole state.")
    selection = Selection(states=frozenset(chosen_states), keys=chosen_keys)
    if selection.empty:
        raise InvalidInput("Select at least one record to synchronise.")
    return selection


def start_run(
    runtime: Runtime, caller: Caller, selection: Selection, *, allow_mass_change: bool = False
) -> RunRecord:
    """Start a run in the background for the caller's target; `RunInProgress` if one is going,
    `Forbidden` when the caller may not act on a mailbox or the token may not write contacts.

    "All in a state" means the records the person was shown in that state: it is turned into
    their keys here, from the plan the homepage shows, so a record that entered the state since
    (a new Central record, say) is never written without having been seen and selected.

    A selection that trips a guard against mass changes on that plan raises
    `MassChangeRefused` unless `allow_mass_change`, which only an admin may give (`Forbidden`
    otherwise); the run checks its fresh plan again before writing.
    """
    app = runtime.load_app_settings()
    access, target = acting_target(runtime, caller, app)
    refusal = write_refusal(app.auth_mode, runtime.connector.token(caller.user, app).granted)
    if refusal is not None:
        raise Forbidden(refusal)
    if allow_mass_change and not access.is_admin:
        raise Forbidden(MASS_CHANGE_ADMIN_ONLY, role=Role.ADMIN.value)
    shown = plan_context(runtime, caller).cached.report
    if selection.states:
        keys = selection.keys | {i.key for i in shown.plan.items if i.state in selection.states}
        if not keys:
            raise InvalidInput("There is nothing in that state to synchronise.")
        selection = Selection(keys=frozenset(keys))
    tripped = check_guards(
        shown.plan,
        guard_thresholds_of(runtime.settings, app),
        previous_source_size=shown.previous_source_size,
        selected=selection.keys,
    )
    if tripped and not allow_mass_change:
        raise MassChangeRefused(tripped, advice=MASS_CHANGE_ADVICE)
    factory = runtime.connector.service_factory(caller.user, app)
    request = RunRequest(
        started_by=caller.display_name,
        selection=selection,
        service_factory=factory,
        lock_key=target.key,
        mailbox=target.label,
        folder_name=target.folder_name,
        allow_mass_change=allow_mass_change,
    )
    run = runtime.run_manager.start(request)
    runtime.remember_run(run.id, plan_key(target.key, access.plan_scope), factory)
    return run


def delete_refusal(context: PlanContext) -> str | None:
    """Why the caller cannot delete orphans from the folder now (None when they can)."""
    if not context.access.is_admin:
        return DELETE_ADMIN_ONLY
    if context.sync_refusal is not None:
        return context.sync_refusal
    if context.running is not None:
        return f"Run {context.running} is writing into this folder: delete once it has ended."
    return None


def start_orphan_delete(
    runtime: Runtime, caller: Caller, office365_ids: Iterable[str], *, allow_mass_change: bool
) -> RunRecord:
    """Start a run deleting the chosen orphans of the plan the homepage shows (admins only).

    Only orphans of that plan may be chosen (`InvalidInput` otherwise); deleting more of the
    folder than `delete_percent` raises `MassChangeRefused` unless `allow_mass_change`.  The
    run plans again and checks both again before deleting anything (`SyncService`).
    """
    app = runtime.load_app_settings()
    access, target = acting_target(runtime, caller, app)
    if not access.is_admin:
        raise Forbidden(DELETE_ADMIN_ONLY, role=Role.ADMIN.value)
    refusal = write_refusal(app.auth_mode, runtime.connector.token(caller.user, app).granted)
    if refusal is not None:
        raise Forbidden(refusal)
    shown = plan_context(runtime, caller).cached.report
    wanted = [i for i in office365_ids if i.strip()]
    if len(wanted) > MAX_KEYS:
        raise InvalidInput(f"Choose at most {MAX_KEYS:,} contacts.")
    chosen, unknown = chosen_orphans(shown.plan, wanted)
    if unknown:
        raise InvalidInput(
            "Only contacts listed under “Only in Office 365” can be deleted here: plan again "
            "and choose from the list."
        )
    if not chosen:
        raise InvalidInput("Choose at least one contact to delete.")
    tripped = orphan_guards(shown.plan, chosen, guard_thresholds_of(runtime.settings, app))
    if tripped and not allow_mass_change:
        raise MassChangeRefused(tripped, advice=MASS_DELETE_ADVICE)
    ids = frozenset(o.office365_id for o in chosen)
    factory = runtime.connector.service_factory(caller.user, app)
    request = RunRequest(
        started_by=caller.display_name,
        selection=Selection(keys=ids),
        service_factory=factory,
        lock_key=target.key,
        mailbox=target.label,
        folder_name=target.folder_name,
        allow_mass_change=allow_mass_change,
        delete_orphans=ids,
    )
    run = runtime.run_manager.start(request)
    runtime.remember_run(run.id, plan_key(target.key, access.plan_scope), factory)
    return run
