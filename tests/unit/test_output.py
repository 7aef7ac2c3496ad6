"""What `plan` prints: the streamed JSON equals the documented shape; the table stays short."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from central365.cli.render import print_plan, print_sync
from central365.core.execute import SyncReport
from central365.core.model import CentralContact, Outcome, RowProblem, WriteResult
from central365.core.plan import build_plan
from central365.engine.serialize import plan_json, sync_json, write_plan_json
from central365.engine.service import FolderRef, PlanReport


def report(records: list[CentralContact | RowProblem]) -> PlanReport:
    return PlanReport(
        "ann@contoso.test",
        FolderRef("Central Contacts", None, False),
        build_plan(records, []),
        datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
    )


def person(n: int, **fields: str) -> CentralContact:
    values = {"status": "active", "first_name": f"Ann{n}", "last_name": "Lee"}
    values.update(fields)
    return CentralContact(key=str(n), email=f"ann{n}@example.com", **values)


names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(names, names, st.booleans()), max_size=30))
def test_streamed_json_is_the_documented_document(rows: list[tuple[str, str, bool]]) -> None:
    records: list[CentralContact | RowProblem] = [
        person(n, first_name=first, last_name=last) for n, (first, last, _) in enumerate(rows)
    ]
    records += [
        RowProblem(n, "row has 2 fields, expected 23") for n, (*_, bad) in enumerate(rows) if bad
    ]
    made = report(records)
    out = io.StringIO()
    write_plan_json(out, made)
    assert json.loads(out.getvalue()) == plan_json(made)


def test_streamed_json_narrows_the_items_and_adds_keys() -> None:
    made = report([person(1), person(2, first_name="")])
    out = io.StringIO()
    write_plan_json(out, made, [made.plan.items[1]], {"dry_run": True})
    document = json.loads(out.getvalue())
    assert [i["key"] for i in document["items"]] == ["2"]
    assert document["dry_run"] is True
    assert document["counts"] == plan_json(made)["counts"]


def test_the_table_shows_the_first_rows_of_each_state_and_says_how_to_see_the_rest() -> None:
    records: list[CentralContact | RowProblem] = [person(n) for n in range(50)]
    records += [person(100 + n, first_name="") for n in range(3)]
    records += [RowProblem(200 + n, "row has 2 fields, expected 23") for n in range(30)]
    console = Console(file=io.StringIO(), width=200, color_system=None)

    print_plan(console, report(records), limit=5)

    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Ann4" in text and "Ann5" not in text  # five new ones, in Central's order
    assert "… and 45 more new to Office 365: see them with --state new --limit 50" in text
    assert all(f"ann{100 + n}@example.com" in text for n in range(3))  # a short state in full
    assert "more non-actionable" not in text
    assert text.count("of Central was not read") == 5
    assert "… and 25 more rows of Central could not be read: --json lists them all." in text
    assert "50 new to Office 365" in text


def test_a_sync_that_stopped_early_says_so_and_why() -> None:
    report = SyncReport(
        (
            WriteResult("1", Outcome.CREATED, "AAMk1"),
            WriteResult("2", Outcome.SKIPPED, error="the run's deadline (60 s) passed"),
            WriteResult("3", Outcome.SKIPPED, error="the run's deadline (60 s) passed"),
        )
    )
    console = Console(file=io.StringIO(), width=200, color_system=None)
    print_sync(console, report, unwritten=2, stop_reason="the run's deadline (60 s) passed")
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert (
        "The run stopped before 2 records were written: the run's deadline (60 s) passed." in text
    )
    assert "Run the same sync again to finish it." in text
    assert sync_json(report, unwritten=2)["unwritten"] == 2
