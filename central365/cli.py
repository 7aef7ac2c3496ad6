"""The `central365` command line: plan, sync, folders, serve, sandbox, demo.

One translator (`_fail`) turns every central365 error into one readable message and an exit
code: 0 all good, 1 some records failed or rows of Central could not be read, 2 configuration,
source or Office 365 errors that stopped the run before records were processed.  Tracebacks only with `--debug`.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from central365.bootstrap import graph_auth, mailbox_identity, open_mailbox, open_service
from central365.config import Settings, load_settings
from central365.errors import Central365Error, ConfigError
from central365.execute import Selection, select
from central365.model import ACTIONABLE_STATES, Outcome, State, WriteResult
from central365.render import DEFAULT_LIMIT, plan_table, print_plan, print_sync, summary_line
from central365.serialize import sync_json, write_plan_json
from central365.service import PlanReport, SyncOutcome, SyncService
from central365.sources.redact import mask_secrets

EXIT_OK, EXIT_FAILED_RECORDS, EXIT_ERROR = 0, 1, 2
#: Records a dry run's table shows; `--json` lists them all.
DRY_RUN_ROWS = 200
#: Off a terminal, a wait this long (seconds) is said on stderr rather than passed in silence.
LONG_WAIT_S = 5.0

app = typer.Typer(
    name="central365",
    help="Push the active contacts of Central into one Office 365 contacts folder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class Context:
    """What the global options set, handed to every command."""

    debug: bool
    config_file: Path | None
    out: Console
    err: Console

    def settings(self, require_central: bool = True) -> Settings:
        return load_settings(os.environ, self.config_file, require_central=require_central)


@app.callback()
def _global(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings file (default ./central365.toml).")
    ] = None,
) -> None:
    ctx.obj = Context(debug, config, Console(), Console(stderr=True))


def _fail(ctx: Context, exc: BaseException) -> NoReturn:
    """The one place that turns an exception into a message and an exit code."""
    if ctx.debug:
        ctx.err.print(mask_secrets(traceback.format_exc()), markup=False, highlight=False)
    if isinstance(exc, Central365Error):
        # soft_wrap: off a terminal Rich would hard-wrap at 80 columns, mid-sentence.
        ctx.err.print(
            f"Error: {mask_secrets(exc.full_message())}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    elif isinstance(exc, KeyboardInterrupt):
        ctx.err.print("Interrupted.")
        raise typer.Exit(130)
    else:
        ctx.err.print(
            f"Unexpected error ({type(exc).__name__}): {mask_secrets(str(exc))}. "
            "Run again with --debug for details.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(EXIT_ERROR)


@contextmanager
def _errors_handled(ctx: Context) -> Iterator[None]:
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except (Exception, KeyboardInterrupt) as exc:
        _fail(ctx, exc)


def _print_json(ctx: Context, data: Any) -> None:
    """JSON straight to stdout: no console wrapping or highlighting on the way (fast and exact)."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _engine_logs(ctx: Context) -> None:
    """The engine's log lines go to stderr with --debug only.

    Without it a warning logged on the way (a Graph read cut short because Central's read
    failed first, say) would be printed by Python's last-resort handler beside the one error
    message the command gives.
    """
    engine = logging.getLogger("central365")
    for handler in [h for h in engine.handlers if h.get_name() == "central365-cli"]:
        engine.removeHandler(handler)  # a previous command in this process (tests) set one
    chosen: logging.Handler
    if ctx.debug:
        chosen = logging.StreamHandler(sys.stderr)
        chosen.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        engine.setLevel(logging.DEBUG)
    else:
        # A handler in the hierarchy, even one that drops everything, keeps Python's
        # last-resort handler from printing warnings; records still propagate to the root.
        chosen = logging.NullHandler()
    chosen.set_name("central365-cli")
    engine.addHandler(chosen)


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
    _engine_logs(ctx)
    with _errors_handled(ctx):
        settings = ctx.settings()
        with open_service(settings, on_device_code=ctx.err.print) as service:
            report = service.plan()
        chosen = frozenset(states) if states else None
        if as_json:
            items = None if chosen is None else (i for i in report.plan.items if i.state in chosen)
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
) -> None:
    """Create and update the selected records in the Office 365 folder."""
    ctx: Context = typer_ctx.obj
    _engine_logs(ctx)
    with _errors_handled(ctx):
        selection = _selection(everything, states, keys)
        settings = ctx.settings()
        if not (yes or dry_run) and not sys.stdin.isatty():
            raise Central365Error(
                "Refusing to synchronise without confirmation: run it in a terminal, or pass --yes."
            )
        auth = graph_auth(settings, ctx.err.print)
        with (
            open_service(settings, on_device_code=ctx.err.print, auth=auth) as service,
            # Taken before the plan that is shown and acted on: no other run writes in between.
            nullcontext() if dry_run else _folder_lease(settings, mailbox_identity(settings, auth)),
        ):
            planned = None if yes and not dry_run else service.plan()
            if planned is not None and not _confirmed(ctx, planned, selection, dry_run, as_json):
                raise typer.Exit(EXIT_OK)
            outcome = _run_sync(ctx, service, selection, planned, show_progress=not as_json)
        report, problems = outcome.report, outcome.planned.plan.problems
        if as_json:
            _print_json(ctx, sync_json(report, problems, unwritten=outcome.unwritten))
        else:
            print_sync(ctx.out, report, problems, unwritten=outcome.unwritten)
        if report.failed or problems or outcome.unwritten:
            raise typer.Exit(EXIT_FAILED_RECORDS)


@contextmanager
def _folder_lease(settings: Settings, mailbox: str) -> Iterator[None]:
    """Hold the folder's lease in the application database while this command writes.

    The homepage's runs take the same lease, so a second `sync` — here, on another machine
    sharing a PostgreSQL application database, or from the homepage — is refused instead of
    creating every new contact a second time.  (The application database's modules load only
    here: `plan` and `folders` never pay for Alembic's import.)
    """
    from sqlalchemy.exc import SQLAlchemyError

    from central365.appdb import migrate, open_database, run_lock_key
    from central365.appdb.leases import LeaseRepository, folder_lease

    url = settings.app_database_url
    try:
        migrate(url)
        database = open_database(url)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        raise ConfigError(
            f"The application database {_safe_url(url)} cannot be used ({type(exc).__name__}); "
            "central365 keeps its run lock there: check CENTRAL365_DATABASE_URL."
        ) from None
    holder = (
        f"central365 sync by {getpass.getuser()} on {socket.gethostname()} (process {os.getpid()})"
    )
    try:
        with folder_lease(
            LeaseRepository(database),
            run_lock_key(mailbox, settings.folder),
            holder,
            folder_name=settings.folder,
        ):
            yield
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"The application database {database.url} stopped answering "
            f"({type(exc).__name__}): check CENTRAL365_DATABASE_URL."
        ) from None
    finally:
        database.dispose()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


def _selection(everything: bool, states: list[State] | None, keys: list[str] | None) -> Selection:
    chosen = frozenset(states or ())
    if chosen - ACTIONABLE_STATES:
        raise Central365Error("Only the states new and update can be synchronised.")
    selection = Selection(everything=everything, states=chosen, keys=frozenset(keys or ()))
    if selection.empty:
        raise Central365Error("Say what to synchronise: --all, --state new|update, or --key ID.")
    return selection


def _confirmed(
    ctx: Context, planned: PlanReport, selection: Selection, dry_run: bool, as_json: bool
) -> bool:
    """Show what will be written; with --dry-run stop there, else ask."""
    writes, _ = select(planned.plan, selection)
    chosen = {w.key for w in writes}
    items = [i for i in planned.plan.items if i.key in chosen]
    if dry_run:
        if as_json:
            write_plan_json(sys.stdout, planned, items, {"dry_run": True})
        else:
            if items:
                ctx.out.print(plan_table(items[:DRY_RUN_ROWS]))
            if len(items) > DRY_RUN_ROWS:
                ctx.out.print(
                    f"… and {len(items) - DRY_RUN_ROWS:,} more: --json lists every one.",
                    style="dim",
                )
            ctx.out.print(summary_line(planned))
            ctx.out.print(f"Dry run: {len(writes)} records would be written; nothing was changed.")
        return False
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
            selection, on_result=on_result, on_plan=on_plan, planned=planned, on_wait=on_wait
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
    _engine_logs(ctx)
    with _errors_handled(ctx):
        settings = ctx.settings(require_central=False)
        with open_mailbox(settings, on_device_code=ctx.err.print) as mailbox:
            found = mailbox.folders()
        if as_json:
            _print_json(
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


@app.command()
def sandbox(
    typer_ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    state: Annotated[
        Path | None, typer.Option("--state", help="Keep the mailboxes in this SQLite file.")
    ] = None,
    mailbox: Annotated[
        list[str] | None,
        typer.Option(
            help="A mailbox that exists (repeatable); the first is /me. Default demo@contoso.test."
        ),
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="Accept only this bearer token (default: any non-empty one).")
    ] = None,
    latency_ms: Annotated[int, typer.Option(help="Added to every HTTP request.")] = 0,
    throttle: Annotated[
        bool, typer.Option(help="Outlook's limits: 4 concurrent requests, 10,000 per 10 minutes.")
    ] = True,
    fault_rate: Annotated[
        float, typer.Option(help="Share of requests answered 429/503/504 at random (0..1).")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the random faults.")] = 0,
    display_name_overwrite: Annotated[
        bool,
        typer.Option(help="Every PATCH without displayName regenerates it (Exchange may do so)."),
    ] = False,
    tls: Annotated[
        bool, typer.Option(help="Serve HTTPS with a local CA (needed to sign in with msal).")
    ] = False,
    tls_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the CA and certificates go (default: the state file's folder, else ./data)."
        ),
    ] = None,
    identity: Annotated[
        Path | None,
        typer.Option(
            help="JSON file of the identity platform's apps and users (see docs/sandbox.md)."
        ),
    ] = None,
) -> None:
    """Serve the local Microsoft Graph sandbox (see docs/sandbox.md)."""
    ctx: Context = typer_ctx.obj
    with _errors_handled(ctx):
        from central365.sandbox.faults import FaultConfig
        from central365.sandbox.identity import IdentityConfig
        from central365.sandbox.server import run_sandbox
        from central365.sandbox.tls import ca_path_in

        try:
            faults = FaultConfig(
                latency_ms=latency_ms,
                mailbox_concurrency=4 if throttle else None,
                window_requests=10_000 if throttle else None,
                fault_rate=fault_rate,
                seed=seed,
                display_name_overwrite=display_name_overwrite,
            )
        except ValueError as exc:
            raise Central365Error(f"The sandbox options are not valid: {exc}.") from None
        directory = (tls_dir or (state.parent if state else Path("data"))) if tls else None
        try:
            identity_config = (
                IdentityConfig.from_json(json.loads(identity.read_text(encoding="utf-8")))
                if identity
                else None
            )
        except (OSError, ValueError) as exc:
            raise Central365Error(f"The identity file {identity} is not usable: {exc}.") from None
        scheme = "https" if tls else "http"
        ctx.err.print(
            f"Graph sandbox on {scheme}://{host}:{port}/v1.0 (admin: /_sandbox). Ctrl-C stops it.",
            markup=False,
        )
        if directory is not None:
            ctx.err.print(
                f"Sign-in authority {scheme}://{host}:{port}/organizations (msal: "
                f"instance_discovery=False). Trust the CA: "
                f"CENTRAL365_CA_BUNDLE={ca_path_in(directory).resolve()}",
                markup=False,
                soft_wrap=True,
            )
        mailboxes = mailbox or ["demo@contoso.test"]
        run_sandbox(
            host,
            port,
            state,
            faults,
            mailboxes[0],
            mailboxes=tuple(mailboxes[1:]),
            token=token,
            log_level="warning",
            tls_dir=directory,
            identity=identity_config,
        )


@app.command()
def serve(
    typer_ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM) to serve https directly.")
    ] = None,
    keyfile: Annotated[Path | None, typer.Option(help="The certificate's private key.")] = None,
) -> None:
    """Serve the homepage (sign-in with Microsoft; set CENTRAL365_PUBLIC_URL to its address)."""
    ctx: Context = typer_ctx.obj
    with _errors_handled(ctx):
        import uvicorn

        from central365.serving import homepage_log_config
        from central365.web import create_app

        settings = ctx.settings(require_central=False)
        homepage = create_app(settings)  # refuses, before announcing it, a tenant not fixed
        ctx.err.print(f"central365 homepage on {settings.public_url} (listening on {host}:{port}).")
        uvicorn.run(
            homepage,
            host=host,
            port=port,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
            log_level="info",
            log_config=homepage_log_config(),
            proxy_headers=True,
        )


@app.command()
def demo(
    typer_ctx: typer.Context,
    data_dir: Annotated[Path, typer.Option(help="Where the demo files go.")] = Path("data/demo"),
    port: Annotated[int, typer.Option(help="Port of the homepage.")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="Port of the Graph sandbox.")] = 8765,
    size: Annotated[int, typer.Option(help="How many Central records.")] = 300,
    wait: Annotated[bool, typer.Option(help="Keep running until Ctrl-C.")] = True,
) -> None:
    """Build a demo Central, start the sandbox seeded against it, and serve the homepage."""
    ctx: Context = typer_ctx.obj
    with _errors_handled(ctx):
        from central365.demo import DemoOptions, run_demo

        options = DemoOptions(
            data_dir=data_dir, port=port, sandbox_port=sandbox_port, size=size, wait=wait
        )
        try:
            run_demo(ctx.out, options)
        except OSError as exc:
            raise Central365Error(
                f"The demo could not start: {exc.strerror or exc}. Are ports {port} and "
                f"{sandbox_port} free? Pass --port / --sandbox-port to use others."
            ) from None


def main() -> None:
    """Entry point of the `central365` script."""
    app(prog_name="central365")
