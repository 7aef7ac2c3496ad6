"""`sync --target NAME`: one target of the settings file, into each of its mailboxes.

The mailboxes are the target's list, its Entra group's users read from Graph first, or — for a
target of the signed-in person (`me = true`) — the one mailbox of whoever signs in with the
device code (delegated, today's `sync`); app sign-in has nobody signed in, so it is refused.  Each is
written under its folder's lease in the application database (the one `sync` and the homepage
take), by `engine.targets.run_target`; the table or `--json` gives one line per mailbox.

Each mailbox's run is a run of History, journalled as it writes, like a `sync`'s
(`cli.run_record`): the homepage lists them, and the next run's `source_shrunk` guard compares
with it.

Exit codes (`cli.app`): 0 every mailbox done, 1 any mailbox failed, was refused by a guard, or
had records that failed; 2 the target could not be run at all (settings, sign-in, the group).
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace

import httpx
import typer
from rich.table import Table
from rich.text import Text

from central365.cli.app import EXIT_FAILED_RECORDS, EXIT_OK, Context, print_json
from central365.config import Settings, target_named
from central365.core.errors import Central365Error, ConfigError
from central365.core.targets import SyncTarget
from central365.engine.service import SyncService
from central365.engine.targets import (
    HoldRun,
    MailboxOutcome,
    MailboxRun,
    TargetOutcome,
    run_target,
)
from central365.wiring.connection import Connection, SignInMode
from central365.wiring.open import group_mailboxes, mailbox_identity, open_service
from central365.wiring.settings import connection_from_settings
from central365.wiring.sign_in import secret_warning, sign_in_auth

APP_SIGN_IN_ONLY = (
    "Targets need app sign-in: set CENTRAL365_AUTH=app with the app's certificate (or secret), "
    "since a device sign-in reaches only the signed-in person's own mailbox."
)
DEVICE_SIGN_IN_ONLY = (
    "Target {name} is the signed-in person's own mailbox: run it with device sign-in "
    "(CENTRAL365_AUTH=device), since app sign-in has nobody signed in."
)


def sync_target(ctx: Context, name: str, *, yes: bool, as_json: bool, allow_mass: bool) -> None:
    """Run the target `name`; raises `typer.Exit(1)` when any mailbox did not finish well."""
    settings = ctx.settings()
    target = target_named(settings, name)
    connection = connection_from_settings(settings)
    if target.me and connection.sign_in.mode is SignInMode.APP:
        raise ConfigError(DEVICE_SIGN_IN_ONLY.format(name=target.name))
    if not target.me and connection.sign_in.mode is SignInMode.DEVICE:
        raise ConfigError(APP_SIGN_IN_ONLY)
    warning = secret_warning(connection.sign_in)
    if warning is not None:
        ctx.err.print(f"Warning: {warning}", style="yellow", soft_wrap=True)
    if not yes and not sys.stdin.isatty():
        raise Central365Error(
            "Refusing to synchronise without confirmation: run it in a terminal, or pass --yes."
        )
    auth = sign_in_auth(connection.sign_in, ctx.err.print)
    mailboxes = _mailboxes(target, connection, auth)
    if not yes and not typer.confirm(_question(target, mailboxes), default=False):
        raise typer.Exit(EXIT_OK)

    def open_for(mailbox: str) -> AbstractContextManager[SyncService]:
        # The signed-in person's mailbox is Graph's `me`, named by who signed in.
        graph_mailbox = "me" if target.me else mailbox
        return open_service(
            replace(connection, mailbox=graph_mailbox, label=None, folder=target.folder), auth
        )

    with _runs(settings, target, mailboxes) as (hold_run, ended):

        def said(outcome: MailboxOutcome) -> None:
            ended(outcome)
            if not as_json:
                ctx.err.print(
                    _progress_line(outcome), markup=False, highlight=False, soft_wrap=True
                )

        outcome = run_target(
            target,
            mailboxes,
            open_for,
            hold_run,
            allow_mass_change=allow_mass,
            on_mailbox=said,
        )
    if as_json:
        print_json(ctx, outcome.to_json())
    else:
        ctx.out.print(outcome_table(outcome))
        ctx.out.print(_summary(outcome))
    if not outcome.ok:
        raise typer.Exit(EXIT_FAILED_RECORDS)


def _mailboxes(target: SyncTarget, connection: Connection, auth: httpx.Auth) -> list[str]:
    """The target's mailboxes: its list, its group's users (Graph), which must not be none, or
    the signed-in person's, by the name History and the run lock know it by."""
    if target.me:
        return [mailbox_identity(replace(connection, mailbox="me", label=None), auth)]
    if target.group is None:
        return list(target.mailboxes)
    found = group_mailboxes(connection, auth, target.group)
    if not found:
        raise Central365Error(
            f"The group {target.group} of target {target.name} has no users: add the mailboxes' "
            "users to it in Entra, or check the group id."
        )
    return found


def _question(target: SyncTarget, mailboxes: list[str]) -> str:
    states = " and ".join(sorted(s.value for s in target.states))
    return (
        f"Write the {states} records of Central into the folder “{target.folder}” of "
        f"{len(mailboxes)} mailbox{'es' if len(mailboxes) != 1 else ''} (target {target.name})?"
    )


def _progress_line(outcome: MailboxOutcome) -> str:
    if outcome.error is not None:
        return f"{outcome.mailbox}: {outcome.error}"
    return (
        f"{outcome.mailbox}: {outcome.created} created, {outcome.updated} updated, "
        f"{outcome.failed} failed."
    )


def outcome_table(outcome: TargetOutcome) -> Table:
    """One row per mailbox: the counts, and the error when there was one."""
    table = Table(title=f"Target {outcome.target}", header_style="bold")
    table.add_column("Mailbox", overflow="fold")
    for column in ("Created", "Updated", "Failed", "Skipped"):
        table.add_column(column, justify="right")
    table.add_column("Error")
    for mailbox in outcome.mailboxes:
        table.add_row(
            Text(mailbox.mailbox),
            str(mailbox.created),
            str(mailbox.updated),
            Text(str(mailbox.failed), style="red" if mailbox.failed else ""),
            str(mailbox.skipped),
            Text(mailbox.error or "", style="red"),
        )
    return table


def _summary(outcome: TargetOutcome) -> str:
    bad = sum(1 for m in outcome.mailboxes if not m.ok)
    total = len(outcome.mailboxes)
    if not bad:
        return f"All {total} mailboxes of target {outcome.target} are synchronised."
    return f"{bad} of {total} mailboxes of target {outcome.target} did not finish: see Error."


@contextmanager
def _runs(
    settings: Settings, target: SyncTarget, mailboxes: list[str]
) -> Iterator[tuple[HoldRun, Callable[[MailboxOutcome], None]]]:
    """Open the application database once; each mailbox's run then takes its folder's lease
    there (the one `sync` and the homepage take) and is recorded in History and the journal,
    all under one target run (History shows them together, as a scheduled run's).  Gives the
    mailboxes' `HoldRun` and what records a mailbox's end in the target run."""
    from central365.appdb import ScheduleRepository, TargetTrigger, run_lock_key
    from central365.appdb.leases import LeaseRepository, folder_lease
    from central365.cli.run_record import app_database, cli_person, recorded_run

    holder = (
        f"central365 sync --target {target.name} by {getpass.getuser()} on "
        f"{socket.gethostname()} (process {os.getpid()})"
    )

    @contextmanager
    def hold(mailbox: str) -> Iterator[MailboxRun]:
        key = run_lock_key(mailbox, target.folder)
        with (
            folder_lease(leases, key, holder, folder_name=target.folder) as kept,
            recorded_run(database, kept.lease, mailbox, target.folder) as run,
        ):
            schedules.mailbox_started(target_run_id, mailbox, run.id)
            yield run

    def ended(outcome: MailboxOutcome) -> None:
        schedules.mailbox_finished(
            target_run_id,
            outcome.mailbox,
            created=outcome.created,
            updated=outcome.updated,
            failed=outcome.failed,
            skipped=outcome.skipped,
            error=outcome.error,
            refused=outcome.refused,
        )

    with app_database(settings, "keeps its run locks and the journal there") as database:
        leases = LeaseRepository(database)
        schedules = ScheduleRepository(database)
        target_run_id = schedules.start_target_run(
            target.name, trigger=TargetTrigger.COMMAND, requested_by=cli_person()
        )
        schedules.add_mailboxes(target_run_id, mailboxes)
        try:
            yield hold, ended
        finally:  # stopped part-way (Ctrl-C): the mailboxes not reached end the run
            schedules.abandon_run(target_run_id, "The command was stopped before this mailbox.")
