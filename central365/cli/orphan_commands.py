"""`orphans`: the folder's contacts only in Office 365 (central365 wrote them; their record is
gone, inactive or non-actionable), and how many of people's own contacts are left alone."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from central365.cli.app import Context, app, engine_logs, errors_handled, print_json
from central365.cli.folder_cache import folder_caches
from central365.cli.plan_commands import reading_journal
from central365.engine.serialize import orphan_json
from central365.engine.service import PlanReport
from central365.wiring.open import open_service
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
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """List the contacts only in Office 365: central365 wrote them, their record has gone."""
    ctx: Context = typer_ctx.obj
    engine_logs(ctx)
    with errors_handled(ctx):
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
