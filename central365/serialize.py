"""The stable JSON shapes of `plan --json` and `sync --json` (documented in the README).

Keys are only ever added, never renamed or removed; the web API returns the same shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from central365.execute import SyncReport
from central365.model import Outcome, PlanItem, RowProblem, State
from central365.service import PlanReport


def item_json(item: PlanItem) -> dict[str, Any]:
    return {
        "key": item.key,
        "state": item.state.value,
        "name": item.name,
        "email": item.email,
        "office365_id": item.office365_id,
        "reasons": [r.value for r in item.reasons],
        "changes": [{"field": c.field, "from": c.before, "to": c.after} for c in item.changes],
    }


def plan_json(report: PlanReport) -> dict[str, Any]:
    plan = report.plan
    counts = plan.counts()
    return {
        "mailbox": report.mailbox,
        "folder": {
            "id": report.folder.id,
            "name": report.folder.name,
            "exists": report.folder.exists,
        },
        "counts": {state.value: counts[state] for state in State},
        "excluded": plan.excluded,
        "items": [item_json(item) for item in plan.items],
        "problems": problems_json(plan.problems),
        "made_at": report.made_at.isoformat(),
    }


def problems_json(problems: Iterable[RowProblem]) -> list[dict[str, Any]]:
    """Central's rows that could not be read: where, and why (never the row's content)."""
    return [{"line": p.line, "message": p.message} for p in problems]


def sync_json(report: SyncReport, problems: Iterable[RowProblem] = ()) -> dict[str, Any]:
    """What a sync did, and the rows of Central it could not read (so none vanish silently)."""
    return {
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
    }
