"""`central365 worker`: a Celery worker that runs targets' mailbox jobs (issue 12).

It needs a broker (`CENTRAL365_BROKER_URL`), the same settings file as the homepage (its
targets, Central, the app's sign-in) and the same application database, where each mailbox's
lease, run and journal are kept.  Many mailboxes run at once in one worker (a thread each,
`--concurrency`, default `CENTRAL365_WORKER_CONCURRENCY` = 8: the work waits on Graph, not on
the CPU); any number of workers on any number of machines share the queue.  `--beat` also
runs the scheduler in this process: it fires each due schedule once, however many schedulers
run (the claim is a row in the application database).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from typing import Annotated

import typer

from central365.cli.app import Context, app, errors_handled
from central365.core.errors import ConfigError

NO_BROKER = (
    "central365 worker needs a task queue: set CENTRAL365_BROKER_URL (e.g. "
    "redis://127.0.0.1:6379/0); without one, `central365 serve` runs the jobs itself."
)


@app.command()
def worker(
    typer_ctx: typer.Context,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=256, help="Mailboxes run at once (default: the setting, 8)."),
    ] = None,
    beat: Annotated[
        bool, typer.Option("--beat", help="Also fire due schedules from this process.")
    ] = False,
    loglevel: Annotated[str, typer.Option(help="Celery's log level.")] = "INFO",
) -> None:
    """Run targets' mailbox jobs from the task queue until stopped (Ctrl-C)."""
    ctx: Context = typer_ctx.obj
    with errors_handled(ctx):
        settings = ctx.settings()
        if not settings.broker_url:
            raise ConfigError(NO_BROKER)
        from central365.cli.run_record import app_database
        from central365.engine.schedules import SchedulerThread
        from central365.wiring.alerting import alerts_over
        from central365.wiring.jobs import open_schedules
        from central365.worker.celery_app import CeleryJobs, make_celery
        from central365.worker.tasks import register_tasks

        logging.basicConfig(
            stream=sys.stderr, level=loglevel.upper(), format="%(levelname)s %(name)s: %(message)s"
        )
        with app_database(settings, "keeps its runs, leases and journal there") as database:
            celery = make_celery(settings)
            # The admins are e-mailed when a target's run needs a person (wiring.alerting).
            register_tasks(celery, settings, database, on_finished=alerts_over(settings, database))
            scheduler = (
                SchedulerThread(
                    open_schedules(settings, database, CeleryJobs(celery)),
                    settings.scheduler_interval,
                ).start()
                if beat
                else None
            )
            try:
                celery.worker_main(
                    [
                        "worker",
                        "--pool=threads",
                        f"--concurrency={concurrency or settings.worker_concurrency}",
                        f"--hostname=central365-{os.getpid()}@{socket.gethostname()}",
                        f"--loglevel={loglevel.upper()}",
                        f"--queues={settings.queue}",
                        "--without-gossip",
                        "--without-mingle",
                    ]
                )
            finally:
                if scheduler is not None:
                    scheduler.stop()
