"""`plan`, `sync` and `folders`: what a sync would do, doing it, and the mailbox's folders."""

from __future__ import annotations

import getpass
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
from central365.cli.render import (
    DEFAULT_LIMIT,
    plan_table,
    print_plan,
    print_plan_notes,
    print_sync,
    summary_line,
)
from central365.cli.target_commands import sync_target
from central365.config import Settings
from central365.core.errors import Central365Error, MassChangeRefused
from central365.core.execute import Selection, select
from central365.core.model import ACTIONABLE_STATES, Outcome, State, WriteResult
from central365.core.ports import JournalReader
from central365.engine.collector import cycle_collector_paused
from central365.engine.journaling import JournalRun
from central365.engine.serialize import sync_json, write_plan_json
from central365.engine.service import PlanReport, SyncOutcome, SyncService
from central365.wiring.open import mailbox_identity, open_mailbox, open_service
from central365.wiring.settings import connection_from_settings
from central365.wiring.sign_in import sign_in_auth

if TYPE_CHECKING:
    from central365.appdb import Database
    from central365.appdb.leases import Lease

#: Records a dry run's table shows; `--json` lists them all.
DRY_RUN_ROWS = 200
#: Off a terminal, a wait this long (seconds) is said on stderr rather than passed in silence.
LONG_WAIT_S = 5.0


StateOption = Annotated[
    list[State] | None,
    typer.Option("--state", help="Only records in this state (repeatable).", case_sensitive=False),
]


@app.command()
def plan(
    typer_ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    states: StateOption = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Rows shown of each state in the table.")
    ] = DEFAULT_LIMIT,
) -> None:
    """Show what a sync would do: new, requires update, no updates, non-actionable."""
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
            # The journal: the last run's size (guards) and the baselines (Outlook's edits).
            report = service.plan(journal=journal)
        chosen = frozenset(states) if states else None
        if as_json:
            items = None if chosen is None else (i for i in report.plan.items if i.state in chosen)
            # The plan's millions of objects were made with the collector paused: it would
            # otherwise scan them all, more than once, while the lines are written.
            with cycle_collector_paused():
                write_plan_json(sys.stdout, report, items)
        else:
            print_plan(ctx.out, report, chosen, limit)


@app.command()
def sync(
    typer_ctx: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="Every new record and every record that needs an update.")
    ] = False,
    states: StateOption = None,
    keys: Annotated[
        list[str] | None, typer.Option("--key", help="A Central id to synchronise (repeatable).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be written.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
    allow_mass_change: Annotated[
        bool,
        typer.Option(
            "--allow-mass-change",
            help="Write even when a guard against mass changes trips (see `plan`).",
        ),
    ] = False,
    target: Annotated[
        str | None,
        typer.Option("--target", help="Run a target of the settings file: each of its mailboxes."),
    ] = None,
) -> None:
    """Create and update the selected records in the Office 365 folder.

    A run that would clear a field on many contacts, update most of the folder, or act on a
    Central that shrank since the last run is refused (exit 2) unless --allow-mass-change.
    """
    ctx: Context = typer_ctx.obj
    engine_logs(ctx)
    with errors_handled(ctx):
        if target is not None:
            if everything or states or keys or dry_run:
                raise Central365Error(
                    "--target writes the target's own states: leave out --all, --state, --key "
                    "and --dry-run."
                )
            sync_target(ctx, target, yes=yes, as_json=as_json, allow_mass=allow_mass_change)
            return
        selection = _selection(everything, states, keys)
        settings = ctx.settings()
        if not (yes or dry_run) and not sys.stdin.isatty():
            raise Central365Error(
                "Refusing to synchronise without confirmation: run it in a terminal, or pass --yes."
            )
        connection = connection_from_settings(settings)
        auth = sign_in_auth(connection.sign_in, ctx.err.print)
        mailbox = mailbox_identity(connection, auth)
        with (
            folder_caches(settings, ctx.err.print) as caches,
            open_service(connection, auth, caches=caches) as service,
            # Taken before the plan that is shown and acted on: no other run writes in between.
            nullcontext(None) if dry_run else held_folder_lease(settings, mailbox) as held,
        ):
            planned = None if yes and not dry_run else _plan_now(service, settings, held)
            try:
                if planned is not None and not _confirmed(
                    ctx, service, planned, selection, dry_run, as_json, allow_mass_change
                ):
                    raise typer.Exit(EXIT_OK)
                assert held is not None  # a dry run has ended above
                from central365.cli.run_record import recorded_run  # loads the app database

                # A run of History, journalled as it writes (the homepage lists it too).
                with recorded_run(*held, mailbox, settings.folder) as run:
                    outcome = _run_sync(
                        ctx,
                        service,
                        selection,
                        planned,
                        not as_json,
                        allow_mass_change,
                        journal=run.journal,
                    )
                    run.finish(outcome)
            except MassChangeRefused as exc:
                raise Central365Error(
                    f"{exc.message} Nothing was written: check Central, or run again with "
                    "--allow-mass-change if the change is intended."
                ) from None
        if outcome.journal_failures:
            ctx.err.print(
                f"{outcome.journal_failures:,} writes could not be recorded in the journal (the "
                "application database failed); their contacts carry their Central ids, so the "
                "next plan finds them.",
                markup=False,
            )
        report, problems = outcome.report, outcome.planned.plan.problems
        if as_json:
            print_json(ctx, sync_json(report, problems, unwritten=outcome.unwritten, run_id=run.id))
        else:
            print_sync(
                ctx.out,
                report,
                problems,
                unwritten=outcome.unwritten,
                stop_reason=outcome.stop_reason,
            )
        if report.failed or problems or outcome.unwritten:
            raise typer.Exit(EXIT_FAILED_RECORDS)


def reading_journal(settings: Settings) -> AbstractContextManager[JournalReader | None]:
    """The journal for a command that writes nothing (`cli.run_record`)."""
    from central365.cli.run_record import reading_journal as read

    return read(settings)


def _plan_now(
    service: SyncService,
    settings: Settings,
    held: tuple[Database, Lease] | None,
) -> PlanReport:
    """The plan shown before a sync, with the journal's last run (guards) and baselines (the
    three-way compare): read under the folder's lease for a real run, without it for a dry run."""
    if held is None:
        with reading_journal(settings) as journal:
            return service.plan(journal=journal)
    from central365.appdb import JournalRepository

    return service.plan(journal=JournalRepository(held[0]))


@contextmanager
def held_folder_lease(
    settings: Settings, mailbox: str, folder_name: str | None = None, command: str = "sync"
) -> Iterator[tuple[Database, Lease]]:
    """Hold the folder's lease in the application database while this command writes; the
    database is also where the run is recorded and journalled (`cli.run_record`).

    The homepage's runs take the same lease, so a second `sync` — here, on another machine
    sharing a PostgreSQL application database, or from the homepage — is refused instead of
    creating every new contact a second time.  (The application database's modules load only
    here: `plan` and `folders` never pay for Alembic's import.)  `folder_name`: another folder
    than the configured one (an undo writes where the run it undoes wrote).
    """
    from central365.appdb import run_lock_key
    from central365.appdb.leases import LeaseRepository, folder_lease
    from central365.cli.run_record import app_database

    folder = settings.folder if folder_name is None else folder_name
    holder = (
        f"central365 {command} by {getpass.getuser()} on {socket.gethostname()} "
        f"(process {os.getpid()})"
    )
    with (
        app_database(settings, "keeps its run lock and the journal there") as database,
        folder_lease(
            LeaseRepository(database),
            run_lock_key(mailbox, folder),
            holder,
            folder_name=folder,
        ) as kept,
    ):
        yield database, kept.lease


def _selection(everything: bool, states: list[State] | None, keys: list[str] | None) -> Selection:
    chosen = frozenset(states or ())
    if chosen - ACTIONABLE_STATES:
        raise Central365Error("Only the states new and update can be synchronised.")
    selection = Selection(everything=everything, states=chosen, keys=frozenset(keys or ()))
    if selection.empty:
        raise Central365Error("Say what to synchronise: --all, --state new|update, or --key ID.")
    return selection


def _confirmed(
    ctx: Context,
    service: SyncService,
    planned: PlanReport,
    selection: Selection,
    dry_run: bool,
    as_json: bool,
    allow_mass_change: bool,
) -> bool:
    """Show what will be written; with --dry-run stop there, else refuse a mass change or ask."""
    writes, _ = select(planned.plan, selection)
    chosen = {w.key for w in writes}
    items = [i for i in planned.plan.items if i.key in chosen]
    guards = service.guards_for(planned, chosen)
    if dry_run:
        if as_json:
            guards_json = [{"code": g.code.value, "message": g.message} for g in guards]
            write_plan_json(sys.stdout, planned, items, {"dry_run": True, "guards": guards_json})
        else:
            if items:
                ctx.out.print(plan_table(items[:DRY_RUN_ROWS]))
            if len(items) > DRY_RUN_ROWS:
                ctx.out.print(
                    f"… and {len(items) - DRY_RUN_ROWS:,} more: --json lists every one.",
                    style="dim",
                )
            print_plan_notes(ctx.out, planned.plan.missing_columns, guards)
            ctx.out.print(summary_line(planned))
            ctx.out.print(f"Dry run: {len(writes)} records would be written; nothing was changed.")
        return False
    if not allow_mass_change:
        service.refuse_mass_change(planned, chosen)
    if not writes:
        ctx.out.print("Nothing to synchronise: the selection has no new records or updates.")
        return True
    new = sum(1 for i in items if i.state is State.NEW)
    where = f"folder “{planned.folder.name}” of {planned.mailbox}"
    return typer.confirm(
        f"Create {new} and update {len(writes) - new} contacts in {where}?", default=False
    )


def _run_sync(
    ctx: Context,
    service: SyncService,
    selection: Selection,
    planned: PlanReport | None,
    show_progress: bool,
    allow_mass_change: bool,
    journal: JournalRun | None = None,
) -> SyncOutcome:
    on_terminal = show_progress and ctx.err.is_terminal
    progress = Progress(
        TextColumn("Synchronising"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[waiting]}", style="yellow"),
        console=ctx.err,
        disable=not on_terminal,
        transient=False,
    )
    task = progress.add_task("sync", total=None, failed=0, waiting="")
    failed = 0

    def on_plan(report: PlanReport, writes: int) -> None:
        progress.update(task, total=writes)

    def on_result(result: WriteResult) -> None:
        nonlocal failed
        if result.outcome is Outcome.FAILED:
            failed += 1
        if result.outcome is not Outcome.SKIPPED:
            progress.update(task, advance=1, failed=failed, waiting="")

    def on_wait(reason: str, seconds: float) -> None:
        """Never silence: the bar says why it stands still; off a terminal, a line for long waits."""
        words = f"Office 365 asked central365 to wait {seconds:,.0f} s ({reason})"
        if on_terminal:
            progress.update(task, waiting=words)
        elif seconds >= LONG_WAIT_S:
            ctx.err.print(f"{words}.", markup=False, highlight=False, soft_wrap=True)

    with progress:
        outcome = service.sync(
            selection,
            on_result=on_result,
            on_plan=on_plan,
            planned=planned,
            on_wait=on_wait,
            allow_mass_change=allow_mass_change,
            journal=journal,
        )
    if outcome.folder_created:
        ctx.err.print(f"Created the folder “{outcome.planned.folder.name}”.")
    return outcome


@app.command()
def folders(
    typer_ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the folders as JSON.")] = False,
) -> None:
    """List the contacts folders of the mailbox."""
    ctx: Context = typer_ctx.obj
    engine_logs(ctx)
    with errors_handled(ctx):
        settings = ctx.settings(require_central=False)
        connection = connection_from_settings(settings)
        with open_mailbox(connection, sign_in_auth(connection.sign_in, ctx.err.print)) as mailbox:
            found = mailbox.folders()
        if as_json:
            print_json(
                ctx,
                [
                    {"id": f.id, "name": f.display_name, "parent_id": f.parent_folder_id}
                    for f in found
                ],
            )
            return
        for info in found:
            mark = " (configured)" if info.display_name == settings.folder else ""
            ctx.out.print(f"{info.display_name}{mark}  [dim]{info.id}[/dim]", highlight=False)
        if not found:
            ctx.out.print("The mailbox has no contacts folders besides the default one.")
