"""The journal entry of a write (pure), and journaling that never stops a run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from central365.core.journal import (
    JournalAction,
    JournalContact,
    JournalEntry,
    RunSummary,
    journal_entry,
)
from central365.core.mapping import folder_contact_from_graph
from central365.core.model import CentralContact, Outcome, Plan, PlanItem, WriteResult
from central365.core.plan import build_plan
from central365.engine.journaling import Journaling, JournalRun


def plan_item(*folder: dict[str, Any], **fields: str) -> PlanItem:
    record = CentralContact(
        key="7", status="active", first_name="Ann", last_name="Lee", email="ann@example.com"
    )
    record = replace(record, **fields)
    (item,) = build_plan([record], [folder_contact_from_graph(c) for c in folder]).items
    return item


def test_a_created_contact_has_no_before_image_and_the_answer_is_the_baseline() -> None:
    item = plan_item()
    answer = folder_contact_from_graph(
        {
            "id": "c1",
            "givenName": "Ann",
            "surname": "Lee",
            "changeKey": "ck1",
            "emailAddresses": [{"address": "ann@example.com"}],
        }
    )
    entry = journal_entry(item, WriteResult("7", Outcome.CREATED, "c1", contact=answer))
    assert entry is not None
    assert (entry.action, entry.before, entry.change_key) == (JournalAction.CREATED, {}, "ck1")
    assert entry.baseline["givenName"] == "Ann" and entry.baseline["title"] == ""


def test_a_create_whose_answer_was_lost_keeps_what_was_sent() -> None:
    entry = journal_entry(plan_item(title="Dr"), WriteResult("7", Outcome.CREATED, "c1"))
    assert entry is not None and entry.change_key == ""
    assert entry.baseline["title"] == "Dr"
    assert entry.baseline["emailAddresses[0]"] == "ann@example.com"
    assert entry.baseline["homeAddress.city"] == ""
    assert len(entry.baseline) == 17


def test_an_update_keeps_the_values_it_replaced() -> None:
    current = {
        "id": "c1",
        "givenName": "Ann",
        "surname": "Lee",
        "title": "Ms",
        "emailAddresses": [{"address": "ann@example.com"}],
    }
    item = plan_item(current, title="Dr", mobile="07700 900001")
    entry = journal_entry(item, WriteResult("7", Outcome.UPDATED, "c1"))
    assert entry is not None and entry.action is JournalAction.UPDATED
    assert entry.before == {"title": "Ms", "mobilePhone": None}


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.SKIPPED])
def test_writes_that_did_not_happen_are_not_journalled(outcome: Outcome) -> None:
    assert journal_entry(plan_item(), WriteResult("7", outcome, None, "no")) is None


class BrokenJournal:
    """A journal whose database has gone away."""

    def note_plan(self, run_id: int, active_records: int) -> None: ...

    def record(self, run_id: int, entry: JournalEntry) -> None:
        raise OSError("disk full")

    def adopt(self, run_id: int, entries: Sequence[JournalEntry]) -> int:
        return 0

    def last_run(self, mailbox: str, folder_name: str) -> RunSummary | None:
        return None

    def contacts(self, mailbox: str, folder_name: str) -> dict[str, JournalContact]:
        return {}


def test_a_journal_that_fails_is_counted_and_the_front_end_still_hears_of_the_write() -> None:
    item = plan_item()
    heard: list[WriteResult] = []
    journaling = Journaling(JournalRun(BrokenJournal(), 1), Plan(items=(item,)), heard.append)
    result = WriteResult("7", Outcome.CREATED, "c1")
    journaling(result)
    assert heard == [result] and journaling.failures == 1
