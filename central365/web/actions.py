"""What the pages and the JSON API both do: get the plan of the caller's target, start a run.

One place for each, so `/` and `/api/plan` show the same plan, and a run started from the page
or from the API is checked the same way (STYLE habit 13: shared view data).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from central365.appdb import AppSettings, RunRecord
from central365.execute import Selection
from central365.model import ACTIONABLE_STATES, State
from central365.runs import RunRequest
from central365.service import PlanReport
from central365.web.deps import Caller
from central365.web.errors import InvalidInput
from central365.web.plans import CachedPlan
from central365.web.runtime import Runtime
from central365.web.targets import Target, target_of

MAX_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class PlanContext:
    """The caller's target, its plan, and the run writing into it now (if any)."""

    app: AppSettings
    target: Target
    cached: CachedPlan
    running: int | None


def plan_context(runtime: Runtime, caller: Caller, *, again: bool = False) -> PlanContext:
    """The cached plan of the caller's target; planned now on first use or when `again`."""
    app = runtime.load_app_settings()
    target = target_of(app, caller.user)

    def plan_now() -> PlanReport:
        with runtime.connector.service(caller.user, app) as service:
            return service.plan()

    running = runtime.runs.running(target.key)
    if again:
        cached = runtime.plans.refresh(target.key, plan_now)
    else:
        cached = runtime.plans.get_or_make(target.key, plan_now, run_going=running is not None)
    return PlanContext(app, target, cached, running)


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


def start_run(runtime: Runtime, caller: Caller, selection: Selection) -> RunRecord:
    """Start a run in the background for the caller's target; `RunInProgress` if one is going.

    "All in a state" means the records the person was shown in that state: it is turned into
    their keys here, from the plan the homepage shows, so a record that entered the state since
    (a new Central record, say) is never written without having been seen and selected.
    """
    if selection.states:
        shown = plan_context(runtime, caller).cached.report.plan
        keys = selection.keys | {i.key for i in shown.items if i.state in selection.states}
        if not keys:
            raise InvalidInput("There is nothing in that state to synchronise.")
        selection = Selection(keys=frozenset(keys))
    app = runtime.load_app_settings()
    target = target_of(app, caller.user)
    factory = runtime.connector.service_factory(caller.user, app)
    request = RunRequest(
        started_by=caller.display_name,
        selection=selection,
        service_factory=factory,
        lock_key=target.key,
        mailbox=target.label,
        folder_name=target.folder_name,
    )
    run = runtime.run_manager.start(request)
    runtime.remember_run(run.id, target.key, factory)
    return run
