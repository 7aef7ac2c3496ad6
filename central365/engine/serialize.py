"""The stable JSON shapes of `plan --json`, `sync --json` and `undo --json` (in the README).

Keys are only ever added, never renamed or removed; the web API returns the same shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring as _string  # what json.dumps uses
from typing import Any, TextIO

from central365.core.execute import SyncReport
from central365.core.mapping import FIELD_LABELS, NewContactChanges, field_label
from central365.core.model import (
    FieldChange,
    Orphan,
    Outcome,
    PlanItem,
    RowProblem,
    State,
    WriteResult,
)
from central365.core.undo import UndoAction, UndoItem, UndoPlan
from central365.engine.service import PlanReport

#: Items written to the output at once: fewer, larger writes, in a bounded string.
_LINES_PER_WRITE = 1000


def item_json(item: PlanItem) -> dict[str, Any]:
    """One entry of `plan --json`'s items (`item_line` writes the same text faster)."""
    return {
        "key": item.key,
        "state": item.state.value,
        "name": item.name,
        "email": item.email,
        "office365_id": item.office365_id,
        "reasons": [r.value for r in item.reasons],
        "changes": [change_json(c, item.edited_in_office365) for c in item.changes],
        "match": item.match.value if item.match is not None else None,
        "edited_in_office365": list(item.edited_in_office365),
        "deleted_in_office365": item.deleted_in_office365,
    }


def item_line(item: PlanItem) -> str:
    """`json.dumps(item_json(item), ensure_ascii=False)`, written out directly.

    `plan --json` writes one of these per record, a million on a large Central, and building
    the dicts then encoding them was most of its time.  A property test holds the two equal, so
    a key added to `item_json` must be added here too.
    """
    reasons = ", ".join([_string(r.value) for r in item.reasons])
    edited = item.edited_in_office365
    if isinstance(item.changes, NewContactChanges) and not edited:
        # A new contact (most of a first plan): every change is from nothing, with no baseline.
        heads = _NEW_CHANGE_HEADS  # a subscript, not a call, per change of a million records
        changes = ", ".join(
            [f"{heads[field]}{_string(value)}}}" for field, value in item.changes.values()]
        )
    else:
        changes = ", ".join(
            [
                f'{{"field": {_string(c.field)}, '
                f'"from": {_null_or_string(c.before)}, '
                f'"to": {_null_or_string(c.after)}'
                + (f', "baseline": {_null_or_string(c.baseline)}}}' if c.field in edited else "}")
                for c in item.changes
            ]
        )
    return (
        f'{{"key": {_string(item.key)}, "state": {_string(item.state.value)}, '
        f'"name": {_string(item.name)}, "email": {_string(item.email)}, '
        f'"office365_id": {"null" if item.office365_id is None else _string(item.office365_id)}, '
        f'"reasons": [{reasons}], '
        f'"changes": [{changes}], '
        f'"match": {"null" if item.match is None else _string(item.match.value)}, '
        f'"edited_in_office365": [{", ".join([_string(f) for f in edited])}], '
        f'"deleted_in_office365": {"true" if item.deleted_in_office365 else "false"}}}'
    )


def _new_change_head(field: str) -> str:
    """A new contact's change up to its value."""
    return f'{{"field": {_string(field)}, "from": null, "to": '


#: `_new_change_head` of every synced field (all a new contact's changes name), made once.
_NEW_CHANGE_HEADS: Mapping[str, str] = {field: _new_change_head(field) for field in FIELD_LABELS}


def _null_or_string(value: str | None) -> str:
    return "null" if value is None else _string(value)


def change_json(change: FieldChange, edited: tuple[str, ...]) -> dict[str, Any]:
    """One change; a field Outlook edited since central365 last wrote it also says what that
    write was (`"baseline"`), so a reader sees all three values."""
    out: dict[str, Any] = {"field": change.field, "from": change.before, "to": change.after}
    if change.field in edited:
        out["baseline"] = change.baseline
    return out


def plan_json(report: PlanReport) -> dict[str, Any]:
    return plan_envelope(report) | {"items": [item_json(item) for item in report.plan.items]}


def plan_envelope(report: PlanReport, counts: Mapping[State, int] | None = None) -> dict[str, Any]:
    """Everything `plan --json` (and the API's `/api/plan`) says except the items.

    `counts` saves counting a large plan again when the caller already has them.
    """
    plan = report.plan
    counts = plan.counts() if counts is None else counts
    return {
        "mailbox": report.mailbox,
        "folder": {
            "id": report.folder.id,
            "name": report.folder.name,
            "exists": report.folder.exists,
        },
        "counts": {state.value: counts[state] for state in State},
        "excluded": plan.excluded,
        "problems": problems_json(plan.problems),
        "made_at": report.made_at.isoformat(),
        "missing_columns": list(plan.missing_columns),
        "guards": [{"code": g.code.value, "message": g.message} for g in plan.guards],
        "orphans": [orphan_json(o) for o in plan.orphans],
        "unanchored": plan.unanchored_count,
    }


def orphan_json(orphan: Orphan) -> dict[str, Any]:
    """A folder contact carrying a Central anchor that no record syncs, and why
    (`record_gone`, `record_inactive` or `non_actionable: <reason>`)."""
    return {
        "office365_id": orphan.office365_id,
        "key": orphan.key,
        "name": orphan.name,
        "email": orphan.email,
        "why": orphan.why_code,
    }


def write_plan_json(
    out: TextIO,
    report: PlanReport,
    items: Iterable[PlanItem] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """`plan --json` written as it is made: the envelope, then one item per line.

    The same document as `json.dumps(plan_json(report))`, but a million-record plan is never
    one string (or one list of dicts) in memory.  `items` narrows the list (a `--state` or a
    dry run's selection); `extra` adds top-level keys (`"dry_run": true`).
    """
    head = plan_envelope(report) | dict(extra or {})
    out.write("{\n")
    for name, value in head.items():
        out.write(f"  {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)},\n")
    out.write('  "items": [')
    separator = "\n    "
    lines: list[str] = []
    for item in report.plan.items if items is None else items:
        lines.append(item_line(item))
        if len(lines) == _LINES_PER_WRITE:
            out.write(separator + ",\n    ".join(lines))
            separator, lines = ",\n    ", []
    if lines:
        out.write(separator + ",\n    ".join(lines))
    out.write("\n  ]\n}\n")


def problems_json(problems: Iterable[RowProblem]) -> list[dict[str, Any]]:
    """Central's rows that could not be read: where, and why (never the row's content)."""
    return [{"line": p.line, "message": p.message} for p in problems]


def sync_json(
    report: SyncReport,
    problems: Iterable[RowProblem] = (),
    *,
    unwritten: int = 0,
    run_id: int | None = None,
) -> dict[str, Any]:
    """What a sync did, the rows of Central it could not read (so none vanish silently), how
    many writes it never got to because it stopped early (deadline, Office 365 down), and the
    run's id in History and the journal (None when none was recorded)."""
    return {
        "run_id": run_id,
        "created": report.count(Outcome.CREATED),
        "updated": report.count(Outcome.UPDATED),
        "failed": report.count(Outcome.FAILED),
        "skipped": report.count(Outcome.SKIPPED),
        "items": [
            {
                "key": r.key,
                "outcome": r.outcome.value,
                "office365_id": r.office365_id,
                "error": r.error,
            }
            for r in report.results
        ],
        "problems": problems_json(problems),
        "unwritten": unwritten,
    }


def undo_json(
    planned: UndoPlan,
    report: SyncReport | None = None,
    *,
    run_id: int | None = None,
    unwritten: int = 0,
) -> dict[str, Any]:
    """What an undo did (`report`) or would do (None: a preview), one item per contact the run
    it undoes wrote.  `run_id` is the undo's own run (None for a preview)."""
    results = report.results if report is not None else (None,) * len(planned.items)
    items = [undo_item_json(item, r) for item, r in zip(planned.items, results, strict=True)]

    def count(action: UndoAction, outcome: Outcome) -> int:
        return sum(
            1
            for item, r in zip(planned.items, results, strict=True)
            if item.action is action and (r.outcome is outcome if r is not None else True)
        )

    return {
        "run_id": run_id,
        "undoes": planned.run_id,
        "restored": count(UndoAction.RESTORE, Outcome.UPDATED),
        "deleted": count(UndoAction.DELETE, Outcome.DELETED),
        "recreated": count(UndoAction.RECREATE, Outcome.CREATED),
        "skipped": sum(1 for i in items if i["outcome"] == "skipped" or i["action"] == "skip"),
        "failed": sum(1 for i in items if i["outcome"] == "failed"),
        "items": items,
        "unwritten": unwritten,
        "dry_run": report is None,
    }


def undo_item_json(item: UndoItem, result: WriteResult | None) -> dict[str, Any]:
    """One entry of `undo --json`'s items: the plan's action, and how it ended (None: not run)."""
    if result is not None:
        reason = result.error or result.note or item.reason or None
        office365_id = result.office365_id or item.office365_id
    else:
        reason, office365_id = item.reason or None, item.office365_id
    return {
        "key": item.key,
        "office365_id": office365_id,
        "action": item.action.value,
        "outcome": result.outcome.value if result is not None else None,
        "reason": reason,
        "name": item.name,
        "changes": [
            {"field": c.field, "label": field_label(c.field), "before": c.before, "after": c.after}
            for c in item.changes
        ],
    }
