"""Rich renderings of plans and sync reports for the terminal (no decisions here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from central365.core.execute import SyncReport
from central365.core.mapping import field_label
from central365.core.model import (
    REASON_TEXT,
    STATE_LABELS,
    FieldChange,
    Guard,
    Outcome,
    Plan,
    PlanItem,
    RowProblem,
    State,
)
from central365.engine.service import PlanReport

SUMMARY_WORDS = {
    State.NEW: "new to Office 365",
    State.UPDATE: "requiring an update",
    State.UNCHANGED: "with no updates",
    State.NON_ACTIONABLE: "non-actionable",
}
STATE_STYLES = {
    State.NEW: "green",
    State.UPDATE: "yellow",
    State.UNCHANGED: "dim",
    State.NON_ACTIONABLE: "red",
}


def details(item: PlanItem) -> str:
    """What a person needs to know about one item, in words."""
    if item.state is State.NON_ACTIONABLE:
        return "\n".join(REASON_TEXT[r] for r in item.reasons)
    if item.state is State.NEW:
        return deleted_note(item)
    lines = [_change_words(c, item.edited_in_office365) for c in item.changes]
    changed = {c.field for c in item.changes}
    lines += [
        f"{field_label(f)}: changed in Office 365 since the last sync; kept (field policy)"
        for f in item.edited_in_office365
        if f not in changed
    ]
    return "\n".join(lines)


def deleted_note(item: PlanItem) -> str:
    """ "Deleted in Outlook since run N, will be recreated" for a new item that recreates a
    contact a person deleted; "" otherwise."""
    if not item.deleted_in_office365:
        return ""
    since = f" since run {item.deleted_since_run}" if item.deleted_since_run is not None else ""
    return f"deleted in Outlook{since}, will be recreated"


def _change_words(change: FieldChange, edited: tuple[str, ...]) -> str:
    """ "Mobile: a → b", and for a field Outlook edited since the last write, what that was."""
    words = (
        f"{field_label(change.field)}: {change.before or '(blank)'} → {change.after or '(blank)'}"
    )
    if change.field in edited:
        words += (
            f" (changed in Office 365 since the last sync, which wrote "
            f"{change.baseline or '(blank)'})"
        )
    return words


def summary_line(report: PlanReport) -> Text:
    counts = report.plan.counts()
    folder = report.folder
    where = f"folder “{folder.name}” of {report.mailbox}"
    if not folder.exists:
        where += " (does not exist yet: a sync creates it)"
    line = Text(f"Plan against {where}: ")
    for n, state in enumerate(State):
        if n:
            line.append(", ")
        line.append(f"{counts[state]} {SUMMARY_WORDS[state]}", style=STATE_STYLES[state])
    line.append(f"; {report.plan.excluded} excluded as not active.")
    return line


def plan_table(items: Iterable[PlanItem]) -> Table:
    table = Table(show_lines=False, header_style="bold")
    table.add_column("Central id", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Name")
    table.add_column("Email", overflow="fold")
    table.add_column("Details")
    for item in items:
        table.add_row(
            Text(item.key),
            Text(STATE_LABELS[item.state], style=STATE_STYLES[item.state]),
            Text(item.name),
            Text(item.email),
            Text(details(item)),
        )
    return table


#: Rows of each state a plan table shows unless `--limit` says otherwise.
DEFAULT_LIMIT = 20


def print_plan(
    console: Console,
    report: PlanReport,
    states: frozenset[State] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> None:
    """The first `limit` records of each state (of `states`), the unread rows, the counts.

    A table of every record would be unreadable past a few hundred rows, and laying out
    100,000 rows costs Rich minutes: the rest of a state is one line saying how to see it.
    """
    shown: dict[State, list[PlanItem]] = {state: [] for state in State}
    totals = report.plan.counts()
    for item in report.plan.items:
        if (states is None or item.state in states) and len(shown[item.state]) < limit:
            shown[item.state].append(item)
    for state in State:
        if not shown[state]:
            continue
        console.print(plan_table(shown[state]))
        more = totals[state] - len(shown[state])
        if more:
            console.print(
                f"… and {more:,} more {SUMMARY_WORDS[state]}: see them with "
                f"--state {state.value} --limit {totals[state]}, or all of the plan with --json.",
                style="dim",
            )
    print_problems(console, report.plan.problems, limit)
    print_plan_notes(console, report.plan.missing_columns, report.plan.guards)
    print_orphans_note(console, report.plan)
    console.print(summary_line(report))


#: Orphans the terminal's plan names before pointing at `central365 orphans`.
ORPHANS_SHOWN = 5


def print_orphans_note(console: Console, plan: Plan, shown: int = ORPHANS_SHOWN) -> None:
    """How many contacts are only in Office 365 (the first few, with why), and how many of
    people's own contacts are left alone."""
    orphans = plan.orphans
    if orphans:
        console.print(
            Text(
                f"{len(orphans):,} contact{'s are' if len(orphans) != 1 else ' is'} only in "
                "Office 365: central365 wrote them, and their Central record is gone, inactive "
                "or non-actionable. Nothing deletes them by itself.",
                style="yellow",
            )
        )
        for orphan in orphans[:shown]:
            console.print(
                Text(
                    f"  {orphan.name or '(no name)'} <{orphan.email}>, Central id "
                    f"{orphan.key}: {orphan.why_text}"
                )
            )
        console.print(
            "See them all with `central365 orphans` (an admin may delete chosen ones there).",
            style="dim",
        )
    if plan.unanchored_count:
        count = plan.unanchored_count
        console.print(
            f"{count:,} contact{'s' if count != 1 else ''} of people's own (not written by "
            "central365 and matching no record) left alone.",
            style="dim",
        )


def print_plan_notes(
    console: Console, missing_columns: Sequence[str], guards: Sequence[Guard]
) -> None:
    """The columns Central did not have (their fields are left alone), and each tripped guard."""
    if missing_columns:
        console.print(
            Text(
                f"Central has no column {', '.join(missing_columns)}: the fields they fill are "
                "left as they are in Office 365.",
                style="yellow",
            )
        )
    for guard in guards:
        console.print(
            Text(
                f"Mass change ({guard.code.value}): {guard.message} A sync of these records is "
                "refused unless --allow-mass-change is given.",
                style="bold red",
            )
        )


def print_problems(
    console: Console, problems: Sequence[RowProblem], limit: int = DEFAULT_LIMIT
) -> None:
    """One line per row of Central that could not be read (the first `limit`): where and why."""
    for problem in problems[:limit]:
        console.print(
            Text(f"Line {problem.line} of Central was not read: {problem.message}", style="red")
        )
    if len(problems) > limit:
        console.print(
            f"… and {len(problems) - limit:,} more rows of Central could not be read: "
            "--json lists them all.",
            style="red",
        )


def print_sync(
    console: Console,
    report: SyncReport,
    problems: Sequence[RowProblem] = (),
    *,
    unwritten: int = 0,
    stop_reason: str = "",
) -> None:
    failures = [r for r in report.results if r.outcome is Outcome.FAILED]
    if failures:
        table = Table(title="Failed records", header_style="bold")
        table.add_column("Central id", no_wrap=True)
        table.add_column("Reason")
        for result in failures:
            table.add_row(Text(result.key), Text(result.error or ""))
        console.print(table)
    print_problems(console, problems)
    if unwritten:
        why = stop_reason
        console.print(
            Text(
                f"The run stopped before {unwritten:,} record"
                f"{'s were' if unwritten != 1 else ' was'} written"
                + (f": {why.rstrip('.')}." if why else ".")
                + " Run the same sync again to finish it.",
                style="red",
            )
        )
    unread = (
        f" {len(problems)} row{'s' if len(problems) != 1 else ''} of Central could not be read."
        if problems
        else ""
    )
    console.print(
        f"{report.count(Outcome.CREATED)} created, {report.count(Outcome.UPDATED)} updated, "
        f"{report.failed} failed, {report.count(Outcome.SKIPPED)} skipped.{unread}"
    )
