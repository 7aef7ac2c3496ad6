"""`orphans`: the folder's contacts only in Office 365 (central365 wrote them; their record is
gone, inactive or non-actionable), and how many of people's own contacts are left alone."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
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
from central365.cli.plan_commands import held_folder_lease, reading_journal
from central365.core.errors import Central365Error, MassChangeRefused
from central365.core.model import Outcome
from central365.engine.serialize import orphan_json
from central365.engine.service import PlanReport
from central365.wiring.open import mailbox_identity, open_service
from central365.wiring.settings import connection_from_settings
from central365.wiring.sign_in import sign_in_auth


def orphans_json(report: PlanReport) -> dict[str, Any]:
    """What `orphans --json` prints (keys are only ever added)."""
    return {
        "mailbox": report.mailbox,
        "folder": {"id": report.folder.id, "name": report.folder.name},
        "folder_size": report.plan.folder_size,
        "orphans": [orphan_json(o) for o in report.plan.orphans],
        "unanchored": report.plan.unanchored_count,
    }


def orphans_table(report: PlanReport) -> Table:
    table = Table(header_style="bold")
    for column in ("Central id", "Name", "Email", "Why", "Office 365 id"):
        table.add_column(column, overflow="fold")
    for orphan in report.plan.orphans:
        table.add_row(
            Text(orphan.key),
            Text(orphan.name),
            Text(orphan.email),
            Text(orphan.why_text),
            Text(orphan.office365_id, style="dim"),
        )
    return table


@app.command()
def orphans(
    typer_ctx: typer.Context,
    keys: Annotated[
        list[str] | None,
        typer.Argument(
            help="With --delete: the orphans to delete, by Central id (or Office 365 id)."
        ),
    ] = None,
    delete: Annotated[
        bool,
        typer.Option("--delete", help="Delete the orphans named (a journalled, undoable run)."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    allow_mass_change: Annotated[
        bool,
        typer.Option(
            "--allow-mass-change",
            help="Delete even when it is more of the folder than the mass_delete guard allows.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print them (or the outcome) as JSON.")
    ] = False,
) -> None:
    """List the contacts only in Office 365 (central365 wrote them, their record has gone),
    or delete chosen ones with --delete KEY...  Nothing deletes them by itself."""
    ctx: Context = typer_ctx.obj
    engine_logs(ctx)
    with errors_handled(ctx):
        if keys and not delete:
            raise Central365Error(
                "Central ids are given only with --delete: add --delete to delete those orphans."
            )
        if delete:
            _delete(ctx, keys or [], yes=yes, allow_mass_change=allow_mass_change, as_json=as_json)
            return
        settings = ctx.settings()
        connection = connection_from_settings(settings)
        auth = sign_in_auth(connection.sign_in, ctx.err.print)
        with (
            folder_caches(settings, ctx.err.print) as caches,
            open_service(connection, auth, caches=caches) as service,
            reading_journal(settings) as journal,
        ):
            report = service.plan(journal=journal)
        if as_json:
            print_json(ctx, orphans_json(report))
            return
        plan = report.plan
        where = f"folder “{report.folder.name}” of {report.mailbox}"
        if plan.orphans:
            ctx.out.print(orphans_table(report))
        count = len(plan.orphans)
        ctx.out.print(
            f"{count:,} contact{'s' if count != 1 else ''} only in Office 365 in the {where} "
            f"({plan.folder_size:,} contacts); {plan.unanchored_count:,} of people's own "
            "contacts (no Central id) left alone. Nothing deletes them by itself."
        )


def _delete(
    ctx: Context, keys: list[str], *, yes: bool, allow_mass_change: bool, as_json: bool
) -> None:
    """Delete the named orphans under the folder's lease, as a run of History."""
    if not keys:
        raise Central365Error(
            "Name the orphans to delete: central365 orphans --delete KEY... "
            "(`central365 orphans` lists them)."
        )
    if not yes and not sys.stdin.isatty():
        raise Central365Error(
            "Refusing to delete without confirmation: run it in a terminal, or pass --yes."
        )
    settings = ctx.settings()
    connection = connection_from_settings(settings)
    auth = sign_in_auth(connection.sign_in, ctx.err.print)
    mailbox = mailbox_identity(connection, auth)
    from central365.appdb import JournalRepository
    from central365.cli.run_record import recorded_run

    with (
        folder_caches(settings, ctx.err.print) as caches,
        open_service(connection, auth, caches=caches) as service,
        held_folder_lease(settings, mailbox, command="orphans --delete") as held,
    ):
        planned = service.plan(journal=JournalRepository(held[0]))
        try:
            # Checked before the run is recorded: a refusal is no run of History.
            chosen = service.orphans_to_delete(planned, keys, allow_mass_change=allow_mass_change)
        except MassChangeRefused as exc:
            raise Central365Error(
                f"{exc.message} Nothing was deleted: choose fewer, or run again with "
                "--allow-mass-change if it is intended."
            ) from None
        if not yes:
            names = ", ".join(f"{o.name or o.email} ({o.key})" for o in chosen[:10])
            more = f" and {len(chosen) - 10:,} more" if len(chosen) > 10 else ""
            if not typer.confirm(
                f"Delete {len(chosen):,} contact{'s' if len(chosen) != 1 else ''} from "
                f"“{planned.folder.name}”: {names}{more}?"
            ):
                raise typer.Exit(EXIT_OK)
        with recorded_run(*held, mailbox, settings.folder) as run:
            outcome = service.delete([o.office365_id for o in chosen], journal=run.journal)
            run.finish_deletes(outcome)
    results = outcome.report.results
    if as_json:
        print_json(
            ctx,
            {
                "run_id": run.id,
                "deleted": sum(1 for r in results if r.outcome is Outcome.DELETED),
                "failed": sum(1 for r in results if r.outcome is Outcome.FAILED),
                "skipped": sum(1 for r in results if r.outcome is Outcome.SKIPPED),
                "items": [
                    {
                        "key": r.key,
                        "outcome": r.outcome.value,
                        "office365_id": r.office365_id,
                        "error": r.error,
                    }
                    for r in results
                ],
            },
        )
    else:
        for result in results:
            if result.outcome is not Outcome.DELETED:
                ctx.out.print(
                    f"{result.key or result.office365_id}: {result.outcome.value}: {result.error}",
                    markup=False,
                )
        deleted = sum(1 for r in results if r.outcome is Outcome.DELETED)
        ctx.out.print(
            f"Deleted {deleted:,} of {len(results):,} chosen contacts (run {run.id}; "
            f"`central365 history` lists it).",
            markup=False,
        )
    if any(r.outcome is not Outcome.DELETED for r in results):
        raise typer.Exit(EXIT_FAILED_RECORDS)
