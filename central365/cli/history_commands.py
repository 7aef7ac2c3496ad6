"""`history`: the synchronisation runs, from the command line and the homepage alike.

Both front ends record their runs in the one application database (`CENTRAL365_DATABASE_URL`),
so this lists what the homepage's History page lists, newest first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from central365.cli.app import Context, app, errors_handled, print_json

if TYPE_CHECKING:
    from central365.appdb import RunRecord

#: Runs listed unless --limit says otherwise.
DEFAULT_RUNS = 20


def run_json(run: RunRecord) -> dict[str, Any]:
    """One run as `history --json` lists it (keys are only ever added)."""
    return {
        "id": run.id,
        "status": run.status.value,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "started_by": run.started_by,
        "mailbox": run.mailbox,
        "folder": run.folder_name,
        "counts": {
            "created": run.created,
            "updated": run.updated,
            "failed": run.failed,
            "skipped": run.skipped,
            "deleted": run.deleted,
        },
        "active_records": run.active_records,
        "undoes": run.undoes,
        "error": run.error,
    }


def runs_table(runs: list[RunRecord]) -> Table:
    table = Table(header_style="bold")
    for column in ("Run", "Started (UTC)", "By", "Mailbox", "Folder", "Status"):
        table.add_column(column)
    for column in ("Created", "Updated", "Deleted", "Failed", "Skipped"):
        table.add_column(column, justify="right")
    for run in runs:
        table.add_row(
            str(run.id),
            run.started_at.strftime("%d %b %Y %H:%M:%S"),
            run.started_by + (f" (undo of run {run.undoes})" if run.undoes else ""),
            run.mailbox,
            run.folder_name,
            run.status.value,
            *(f"{n:,}" for n in (run.created, run.updated, run.deleted, run.failed, run.skipped)),
        )
    return table


@app.command()
def history(
    typer_ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the runs as JSON.")] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="How many runs to list, newest first.")
    ] = DEFAULT_RUNS,
) -> None:
    """List the synchronisation runs (command line and homepage), newest first."""
    ctx: Context = typer_ctx.obj
    with errors_handled(ctx):
        settings = ctx.settings(require_central=False)
        # The application database's modules load only here (and for sync).
        from central365.appdb import RunRepository
        from central365.cli.run_record import app_database

        with app_database(settings, "keeps the history of runs there") as database:
            runs = RunRepository(database).recent(limit)
        if as_json:
            print_json(ctx, [run_json(run) for run in runs])
        elif runs:
            ctx.out.print(runs_table(runs))
        else:
            ctx.out.print("No synchronisation has run yet.")
