"""The tasks a `central365 worker` runs: read a target run's mailboxes, then one per mailbox.

Both are thin: the engine's `expand_target` and `run_mailbox_job` do the work with the
composition root's openers (`wiring.jobs.job_openers`), exactly as the embedded runner does.
A mailbox's try that may pass later (`RetryLater`: a busy folder lease — never two writers —
throttling, an unreachable Graph) is retried with the engine's backoff, at most
`CENTRAL365_JOB_ATTEMPTS` tries in all.  A job redelivered after its worker died runs again
from the top: it plans again, adopts what the lost try created, and writes no duplicate.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from central365.appdb import Database
from central365.config import Settings
from central365.engine.jobs import (
    OnTargetFinished,
    RetryLater,
    expand_target,
    run_mailbox_job,
)
from central365.wiring.jobs import job_openers
from central365.worker.celery_app import EXPAND_TASK, MAILBOX_TASK

log = logging.getLogger(__name__)


def register_tasks(
    app: Any,
    settings: Settings,
    database: Database,
    *,
    on_finished: OnTargetFinished | None = None,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Put central365's two tasks on `app`, running over `settings`' targets and `database`
    (`transport`: Graph's, borrowed; tests pass the in-process sandbox)."""
    openers = job_openers(
        settings, database, role="worker", on_finished=on_finished, transport=transport
    )
    targets = {t.name: t for t in settings.targets}
    attempts = settings.job_attempts

    def unknown(name: str, target_run_id: int) -> None:
        ended = openers.repository.fail_target_run(
            target_run_id,
            f"This worker's settings have no target {name}: give every worker and the "
            "homepage the same central365.toml.",
        )
        if ended is not None:
            log.error("Target run %d names an unknown target", target_run_id)

    def expand(task: Any, target_name: str, target_run_id: int) -> list[str]:
        target = targets.get(target_name)
        if target is None:
            unknown(target_name, target_run_id)
            return []
        mailboxes = expand_target(
            target, target_run_id, openers.resolve, openers.repository, openers.on_finished
        )
        for mailbox in mailboxes:
            app.send_task(
                MAILBOX_TASK, args=[target_name, target_run_id, mailbox], queue=settings.queue
            )
        return mailboxes

    def sync_mailbox(
        task: Any, target_name: str, target_run_id: int, mailbox: str
    ) -> dict[str, object]:
        target = targets.get(target_name)
        if target is None:
            unknown(target_name, target_run_id)
            return {}
        try:
            outcome = run_mailbox_job(
                target,
                target_run_id,
                mailbox,
                open_service=openers.open_service(target, target_run_id),
                hold_run=openers.hold_run(target),
                repository=openers.repository,
                on_finished=openers.on_finished,
                attempt=int(task.request.retries) + 1,
                max_attempts=attempts,
            )
        except RetryLater as retry:
            raise task.retry(countdown=retry.delay) from None
        return outcome.to_json()

    # shared=False: Celery would otherwise give these closures to every app made later
    app.task(name=EXPAND_TASK, bind=True, shared=False, acks_late=True, reject_on_worker_lost=True)(
        expand
    )
    app.task(
        name=MAILBOX_TASK,
        shared=False,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=max(0, attempts - 1),
    )(sync_mailbox)
