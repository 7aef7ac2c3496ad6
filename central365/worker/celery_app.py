"""The Celery app of central365, made from the settings (never at import time), and the
producer side of the engine's `TargetJobs` (what `serve`, Run now and the scheduler call).

Delivery: a job is acknowledged only once it has run (`task_acks_late`), and a job whose
worker process died mid-run is given back to the queue (`task_reject_on_worker_lost`); with
Redis, a job taken by a worker that vanished entirely (kill -9, the machine lost) goes back
after `CENTRAL365_JOB_VISIBILITY_TIMEOUT` seconds (default an hour: longer than any one
mailbox's run).  Each worker takes one job ahead per thread (`worker_prefetch_multiplier=1`),
so a long mailbox never holds others hostage in a busy worker's queue.

RabbitMQ works by URL (`amqp://user:password@host:5672//`); results then go nowhere unless
`CENTRAL365_RESULT_BACKEND` names a store (the run records in the application database are
what central365 reads; Celery's results are for operators).

Must not: import the composition root (the tasks module does).
"""

from __future__ import annotations

from typing import Any

from central365.config import Settings
from central365.core.targets import SyncTarget

#: Task names (stable: workers and producers of different versions agree on them).
EXPAND_TASK = "central365.expand_target"
MAILBOX_TASK = "central365.sync_mailbox"


def result_backend_of(settings: Settings) -> str | None:
    """The result store: the setting, else the broker when it is Redis."""
    if settings.result_backend:
        return settings.result_backend
    broker = settings.broker_url or ""
    return broker if broker.startswith(("redis://", "rediss://")) else None


def make_celery(settings: Settings) -> Any:
    """A Celery app for the settings' broker (`Any`: Celery has no type hints)."""
    from celery import Celery

    app = Celery(
        "central365",
        broker=settings.broker_url,
        backend=result_backend_of(settings),
        set_as_current=False,
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=7 * 24 * 3600,
        task_default_queue=settings.queue,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.job_visibility_timeout,
            # look for jobs of vanished workers a few times per visibility timeout
            "unacked_restore_interval": max(1, min(60, int(settings.job_visibility_timeout / 4))),
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


class CeleryJobs:
    """`TargetJobs` on Celery: a target run is one task that queues one task per mailbox."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._queue = str(app.conf.task_default_queue)

    def start(self, target: SyncTarget, target_run_id: int) -> None:
        self._app.send_task(EXPAND_TASK, args=[target.name, target_run_id], queue=self._queue)

    def shutdown(self, wait: bool = True) -> None:
        """Close the broker connections this producer opened."""
        self._app.close()
