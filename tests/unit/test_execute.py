"""Selection → writes: only what was selected, one outcome per selected record."""

from __future__ import annotations

import pytest

from central365.core.execute import Selection, select
from central365.core.mapping import folder_contact_from_graph
from central365.core.model import CentralContact, Outcome, Plan, State, WriteKind
from central365.core.plan import build_plan


def plan_of_each_state() -> Plan:
    records = [
        CentralContact(
            key="new", status="active", first_name="N", last_name="W", email="n@example.com"
        ),
        CentralContact(
            key="upd", status="active", first_name="U", last_name="P", email="u@example.com"
        ),
        CentralContact(
            key="same", status="active", first_name="S", last_name="M", email="s@example.com"
        ),
        CentralContact(
            key="bad", status="active", first_name="", last_name="X", email="b@example.com"
        ),
    ]
    folder = [
        folder_contact_from_graph(
            {
                "id": "c-u",
                "givenName": "Old",
                "surname": "P",
                "emailAddresses": [{"address": "u@example.com"}],
            }
        ),
        folder_contact_from_graph(
            {
                "id": "c-s",
                "givenName": "S",
                "surname": "M",
                "emailAddresses": [{"address": "s@example.com"}],
            }
        ),
    ]
    return build_plan(records, folder)


def test_all_selects_only_records_with_something_to_do() -> None:
    writes, skipped = select(plan_of_each_state(), Selection(everything=True))
    assert [(w.key, w.kind) for w in writes] == [
        ("new", WriteKind.CREATE),
        ("upd", WriteKind.UPDATE),
    ]
    assert writes[1].contact_id == "c-u"
    assert skipped == []


def test_state_selection() -> None:
    writes, _ = select(plan_of_each_state(), Selection(states=frozenset({State.UPDATE})))
    assert [w.key for w in writes] == ["upd"]


def test_keys_that_need_nothing_are_skipped_with_the_reason() -> None:
    keys = frozenset({"new", "same", "bad", "nobody"})
    writes, skipped = select(plan_of_each_state(), Selection(keys=keys))
    assert [w.key for w in writes] == ["new"]
    reasons = {r.key: (r.outcome, r.error) for r in skipped}
    assert reasons["same"][0] is Outcome.SKIPPED and "No updates" in (reasons["same"][1] or "")
    assert "first name or last name is missing" in (reasons["bad"][1] or "")
    assert "No active Central record" in (reasons["nobody"][1] or "")


def test_nothing_selected_selects_nothing() -> None:
    assert select(plan_of_each_state(), Selection()) == ([], [])


def test_only_actionable_states_can_be_selected() -> None:
    with pytest.raises(ValueError, match="new and update"):
        Selection(states=frozenset({State.UNCHANGED}))
