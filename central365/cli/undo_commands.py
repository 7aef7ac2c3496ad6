"""`undo RUN`: put back what a run wrote, where nothing has changed since (`core.undo`).

The run is read from the application database (History and the journal); the undo writes into
the mailbox folder that run wrote into, under that folder's lease like a sync, and is itself a
run of History (its `undoes` names the run), journalled, so it can be undone in turn.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from central365.cli.app import (
    EXIT_FAILED_RECORDS,
    EXIT_OK,
    Context,
    app,
    engine_logs,
    errors_handled,
    print_json,
)
from central365.cli.folder_cache import folder_caches
from central365.cli.plan_commands import held_folder_lease
from central365.core.errors import Central365Error
from central365.core.mapping import field_label
from central365.core.model import Outcome
from central365.core.undo import UndoAction, UndoItem, UndoPlan
from central365.engine.serialize import undo_json
from central365.wiring.open import mailbox_identity, open_folder_service
from central365.wiring.settings import connection_from_settings
from central365.wiring.sign_in import sign_in_auth

if TYPE_CHECKING:
    from central365.appdb import RunRecord
    from central365.engine.undoing import UndoOutcome

#: Items a preview's table shows; `--json` lists them all.
PREVIEW_ROWS = 200

_ACTION_WORDS = {
    UndoAction.RESTORE: "restore",
    UndoAction.DELETE: "delete",
    UndoAction.RECREATE: "recreate",
    UndoAction.SKIP: "skip",
}


@app.command()
def undo(
    typer_ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(metavar="RUN", help="The run to undo (see `history`).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be undone.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Undo a run: restore what it updated, delete what it created, recreate what it deleted.

    Only contacts unchanged since that run are touched; anything edited in Outlook, written by
    a later run or already deleted is skipped with the reason.  The undo is a run of its own.
    """
    ctx: Context = typer_ctx.obj
    engine_logs(ctx)
    with errors_handled(ctx):
        settings = ctx.settings(require_central=False)
        if not (yes or dry_run) and not sys.stdin.isatty():
            raise Central365Error(
                "Refusing to undo without confirmation: run it in a terminal, or pass --yes."
            )
        from central365.appdb import JournalRepository, RunRepository, RunStatus
        from central365.cli.run_record import app_database, recorded_run

        with app_database(settings, "reads the run to undo from its journal") as database:
            runs = RunRepository(database)
            runs.mark_abandoned()  # a killed command's run, its lease lapsed, is interrupted
            run = runs.get(run_id)
            if run is None:
                raise Central365Error(
                    f"There is no run {run_id}: `central365 history` lists the runs."
                )
            if run.status is RunStatus.RUNNING:
                raise Central365Error(f"Run {run_id} is still running: undo it once it has ended.")
            connection = connection_from_settings(settings)
            auth = sign_in_auth(connection.sign_in, ctx.err.print)
            mailbox = mailbox_identity(connection, auth)
            _same_mailbox(run, mailbox)
            journal = JournalRepository(database)
            with (
                folder_caches(settings, ctx.err.print) as caches,
                open_folder_service(connection, auth, run.folder_name, caches=caches) as service,
            ):
                if dry_run or not yes:
                    preview = service.plan_undo(run_id, journal)
                    if dry_run:
                        _show_preview(ctx, preview, as_json)
                        return
                    if not preview.acting:
                        _show_preview(ctx, preview, as_json)
                        raise typer.Exit(EXIT_OK)
                    _print_items(ctx.out, preview)
                    if not _confirm(preview, run):
                        raise typer.Exit(EXIT_OK)
                with (
                    held_folder_lease(settings, mailbox, run.folder_name, "undo") as held,
                    recorded_run(*held, mailbox, run.folder_name, undoes=run_id) as recorded,
                ):
                    outcome = service.undo(
                        run_id, JournalRepository(held[0]), journal=recorded.journal
                    )
                    people = {i.key: (i.name, i.email) for i in outcome.planned.items}
                    recorded.finish_results(
                        outcome.report.results,
                        people,
                        outcome.unwritten,
                        outcome.stop_reason,
                        f"Undo run {run_id} again to finish.",
                    )
        _report(ctx, outcome, recorded.id, as_json)


def _same_mailbox(run: RunRecord, mailbox: str) -> None:
    if run.mailbox.strip().casefold() != mailbox.strip().casefold():
        raise Central365Error(
            f"Run {run.id} wrote into the mailbox {run.mailbox}, but central365 is set up for "
            f"{mailbox}: set the mailbox to {run.mailbox} to undo it."
        )


def _confirm(preview: UndoPlan, run: RunRecord) -> bool:
    where = f"folder “{run.folder_name}” of {run.mailbox}"
    return typer.confirm(
        f"Undo run {run.id}: restore {preview.count(UndoAction.RESTORE)}, delete "
        f"{preview.count(UndoAction.DELETE)} and recreate {preview.count(UndoAction.RECREATE)} "
        f"contacts in {where}?",
        default=False,
    )


def _show_preview(ctx: Context, preview: UndoPlan, as_json: bool) -> None:
    if as_json:
        print_json(ctx, undo_json(preview))
        return
    _print_items(ctx.out, preview)
    if preview.acting:
        ctx.out.print(f"Dry run: {_counts(preview)}; nothing was changed.")
    else:
        ctx.out.print(f"Nothing to undo in run {preview.run_id}: {_counts(preview)}.")


def _counts(preview: UndoPlan) -> str:
    return (
        f"{preview.count(UndoAction.RESTORE)} to restore, "
        f"{preview.count(UndoAction.DELETE)} to delete, "
        f"{preview.count(UndoAction.RECREATE)} to recreate, "
        f"{preview.count(UndoAction.SKIP)} skipped"
    )


def _print_items(console: Console, preview: UndoPlan) -> None:
    if not preview.items:
        console.print(f"Run {preview.run_id} wrote no contact: there is nothing to undo.")
        return
    table = Table(title=f"Undo of run {preview.run_id}", header_style="bold")
    table.add_column("Central id", no_wrap=True)
    table.add_column("Name")
    table.add_column("Action")
    table.add_column("What")
    for item in preview.items[:PREVIEW_ROWS]:
        table.add_row(
            Text(item.key), Text(item.name), _ACTION_WORDS[item.action], Text(_what(item))
        )
    console.print(table)
    if len(preview.items) > PREVIEW_ROWS:
        console.print(
            f"… and {len(preview.items) - PREVIEW_ROWS:,} more: --json lists every one.",
            style="dim",
        )


def _what(item: UndoItem) -> str:
    if item.action is UndoAction.SKIP:
        return item.reason
    if item.action is UndoAction.DELETE:
        return "Made by that run, unchanged since."
    return "; ".join(
        f"{field_label(c.field)}: {c.before or '(blank)'} → {c.after or '(blank)'}"
        if item.action is UndoAction.RESTORE
        else f"{field_label(c.field)}: {c.after}"
        for c in item.changes
    )


def _report(ctx: Context, outcome: UndoOutcome, undo_run: int, as_json: bool) -> None:
    report = outcome.report
    if outcome.journal_failures:
        ctx.err.print(
            f"{outcome.journal_failures:,} writes could not be recorded in the journal (the "
            "application database failed): this undo cannot be undone for them.",
            markup=False,
        )
    if as_json:
        print_json(
            ctx, undo_json(outcome.planned, report, run_id=undo_run, unwritten=outcome.unwritten)
        )
    else:
        failures = [r for r in report.results if r.outcome is Outcome.FAILED]
        if failures:
            table = Table(title="Failed", header_style="bold")
            table.add_column("Central id", no_wrap=True)
            table.add_column("Reason")
            for result in failures:
                table.add_row(Text(result.key), Text(result.error or ""))
            ctx.out.print(table)
        if outcome.unwritten:
            ctx.out.print(
                Text(
                    f"The undo stopped before {outcome.unwritten:,} contacts were written: "
                    f"{outcome.stop_reason.rstrip('.')}. Undo run {outcome.planned.run_id} "
                    "again to finish it.",
                    style="red",
                )
            )
        counted = undo_json(outcome.planned, report)
        ctx.out.print(
            f"Run {undo_run} undid run {outcome.planned.run_id}: {counted['restored']} restored, "
            f"{counted['deleted']} deleted, {counted['recreated']} recreated, "
            f"{counted['failed']} failed, {counted['skipped']} skipped."
        )
    if report.failed or outcome.unwritten:
        raise typer.Exit(EXIT_FAILED_RECORDS)
