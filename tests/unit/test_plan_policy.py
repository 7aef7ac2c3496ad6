"""The three-way compare (Central, Outlook, the journal's baseline) and per-field write policies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from central365.cli.render import details
from central365.core.journal import JournalContact, journal_entry
from central365.core.mapping import ANCHOR_PROPERTY_ID, folder_contact_from_graph, synced_values
from central365.core.model import (
    CentralContact,
    FieldChange,
    FolderContact,
    Outcome,
    PlanItem,
    State,
    WriteResult,
)
from central365.core.plan import build_plan
from central365.core.policy import FieldPolicy
from central365.engine.serialize import item_json


def person(**fields: Any) -> CentralContact:
    values: dict[str, Any] = {
        "id": "7",
        "status": "active",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "mobile": "+44 7700 900001",
        "home_town": "Leeds",
    }
    values.update(fields)
    return CentralContact.from_row(values)


def contact(**graph: Any) -> FolderContact:
    data: dict[str, Any] = {
        "id": "c1",
        "givenName": "Ann",
        "surname": "Lee",
        "displayName": "Ann Lee",
        "mobilePhone": "+44 7700 900001",
        "emailAddresses": [{"address": "ann@example.com", "name": "Ann Lee"}],
        "homeAddress": {"city": "Leeds"},
        "singleValueExtendedProperties": [{"id": ANCHOR_PROPERTY_ID, "value": "7"}],
        **graph,
    }
    return folder_contact_from_graph(data)


def written(as_contact: FolderContact, office365_id: str = "c1") -> dict[str, JournalContact]:
    """The journal after central365 wrote `as_contact` for record 7."""
    return {
        "7": JournalContact(
            key="7",
            office365_id=office365_id,
            baseline=synced_values(as_contact),
            change_key="ck",
            run_id=1,
            written_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    }


def one(
    record: CentralContact,
    now: FolderContact,
    baselines: dict[str, JournalContact] | None = None,
    **policies: FieldPolicy,
) -> PlanItem:
    plan = build_plan([record], [now], baselines=baselines, policies=policies or None)
    return plan.items[0]


LAST_WRITE = contact()
OUTLOOK_EDITED = contact(mobilePhone="+44 7700 900999")


def test_without_baselines_or_policies_the_plan_is_the_two_way_one() -> None:
    item = one(person(), OUTLOOK_EDITED)
    assert item.state is State.UPDATE
    assert item.edited_in_office365 == ()
    assert item.changes == (FieldChange("mobilePhone", "+44 7700 900999", "+44 7700 900001"),)
    assert item == build_plan([person()], [OUTLOOK_EDITED]).items[0]


def test_no_baseline_for_the_record_means_no_flag() -> None:
    item = one(person(), OUTLOOK_EDITED, baselines={})
    assert item.edited_in_office365 == ()
    assert item.changes[0].baseline is None


def test_an_outlook_edit_is_flagged_and_its_change_carries_the_baseline() -> None:
    item = one(person(), OUTLOOK_EDITED, written(LAST_WRITE))
    assert item.state is State.UPDATE
    assert item.edited_in_office365 == ("mobilePhone",)
    assert item.changes == (
        FieldChange("mobilePhone", "+44 7700 900999", "+44 7700 900001", "+44 7700 900001"),
    )
    assert item.body["mobilePhone"] == "+44 7700 900001"


def test_a_central_change_alone_is_not_an_outlook_edit() -> None:
    item = one(person(mobile="+44 7700 900002"), LAST_WRITE, written(LAST_WRITE))
    assert item.edited_in_office365 == ()
    assert item.changes == (FieldChange("mobilePhone", "+44 7700 900001", "+44 7700 900002"),)


def test_outlook_and_central_agreeing_again_is_not_flagged() -> None:
    item = one(person(mobile="+44 7700 900999"), OUTLOOK_EDITED, written(LAST_WRITE))
    assert item.state is State.UNCHANGED
    assert item.edited_in_office365 == ()


def test_a_baseline_written_to_another_contact_does_not_count() -> None:
    item = one(person(), OUTLOOK_EDITED, written(LAST_WRITE, office365_id="other"))
    assert item.edited_in_office365 == ()


def test_keep_office365_edits_leaves_the_edited_field_alone() -> None:
    item = one(
        person(),
        OUTLOOK_EDITED,
        written(LAST_WRITE),
        mobilePhone=FieldPolicy.KEEP_OFFICE365_EDITS,
    )
    assert item.state is State.UNCHANGED
    assert item.edited_in_office365 == ("mobilePhone",)
    assert item.changes == ()
    assert item.body == {}


def test_keep_office365_edits_still_writes_central_changes_to_unedited_fields() -> None:
    item = one(
        person(home_town="York"),
        OUTLOOK_EDITED,
        written(LAST_WRITE),
        mobilePhone=FieldPolicy.KEEP_OFFICE365_EDITS,
    )
    assert item.state is State.UPDATE
    assert [c.field for c in item.changes] == ["homeAddress.city"]
    assert "mobilePhone" not in item.body


def test_keep_office365_edits_without_a_baseline_overwrites() -> None:
    item = one(person(), OUTLOOK_EDITED, {}, mobilePhone=FieldPolicy.KEEP_OFFICE365_EDITS)
    assert [c.field for c in item.changes] == ["mobilePhone"]


def test_fill_blanks_writes_only_where_outlook_is_blank() -> None:
    policy = {"mobilePhone": FieldPolicy.FILL_BLANKS}
    assert one(person(), OUTLOOK_EDITED, **policy).state is State.UNCHANGED
    filled = one(person(), contact(mobilePhone=None), **policy)
    assert filled.changes == (FieldChange("mobilePhone", None, "+44 7700 900001"),)
    assert filled.body["mobilePhone"] == "+44 7700 900001"


def test_never_clear_keeps_a_value_central_has_blanked() -> None:
    policy = {"mobilePhone": FieldPolicy.NEVER_CLEAR}
    assert one(person(mobile=""), LAST_WRITE, **policy).state is State.UNCHANGED
    changed = one(person(mobile="+44 1"), LAST_WRITE, **policy)
    assert changed.changes == (FieldChange("mobilePhone", "+44 7700 900001", "+44 1"),)
    cleared = one(person(mobile=""), LAST_WRITE)
    assert cleared.changes == (FieldChange("mobilePhone", "+44 7700 900001", None),)


def test_never_clear_on_an_address_part_keeps_it_inside_the_sent_address() -> None:
    item = one(
        person(home_town="", home_postcode="LS1 1AA"),
        LAST_WRITE,
        **{"homeAddress.city": FieldPolicy.NEVER_CLEAR},
    )
    assert [c.field for c in item.changes] == ["homeAddress.postalCode"]
    assert item.body["homeAddress"]["city"] == "Leeds"
    assert item.body["homeAddress"]["postalCode"] == "LS1 1AA"


def test_ignore_is_never_compared_nor_written() -> None:
    item = one(person(mobile="+44 2"), LAST_WRITE, mobilePhone=FieldPolicy.IGNORE)
    assert item.state is State.UNCHANGED


def test_ignore_leaves_the_field_off_a_new_contact() -> None:
    plan = build_plan(
        [person(title="Dr")],
        [],
        policies={"mobilePhone": FieldPolicy.IGNORE, "homeAddress.city": FieldPolicy.IGNORE},
    )
    item = plan.items[0]
    assert item.state is State.NEW
    assert "mobilePhone" not in item.body and "homeAddress" not in item.body
    assert item.body["title"] == "Dr"
    assert {c.field for c in item.changes} == {
        "title",
        "givenName",
        "surname",
        "emailAddresses[0]",
    }


def test_the_email_cannot_be_ignored() -> None:
    item = one(
        person(email="ann@new.example"),
        LAST_WRITE,
        **{"emailAddresses[0]": FieldPolicy.IGNORE},
    )
    assert [c.field for c in item.changes] == ["emailAddresses[0]"]


def test_an_edited_email_is_kept_by_keep_office365_edits() -> None:
    edited = contact(emailAddresses=[{"address": "ann@home.example", "name": "Ann"}])
    item = one(
        person(),
        edited,
        written(LAST_WRITE),
        **{"emailAddresses[0]": FieldPolicy.KEEP_OFFICE365_EDITS},
    )
    assert item.edited_in_office365 == ("emailAddresses[0]",)
    assert item.state is State.UNCHANGED


def test_an_email_differing_only_in_case_is_no_edit() -> None:
    upper = contact(emailAddresses=[{"address": "ANN@example.com", "name": "Ann"}])
    assert one(person(), upper, written(LAST_WRITE)).edited_in_office365 == ()


@pytest.mark.parametrize("policy", list(FieldPolicy))
def test_every_policy_leaves_an_in_sync_contact_unchanged(policy: FieldPolicy) -> None:
    item = one(person(), LAST_WRITE, written(LAST_WRITE), mobilePhone=policy)
    assert item.state is State.UNCHANGED
    assert item.edited_in_office365 == ()


def test_the_terminal_and_the_json_say_all_three_values() -> None:
    flagged = one(person(), OUTLOOK_EDITED, written(LAST_WRITE))
    assert details(flagged) == (
        "Mobile: +44 7700 900999 → +44 7700 900001 (changed in Office 365 since the last sync, "
        "which wrote +44 7700 900001)"
    )
    assert item_json(flagged)["edited_in_office365"] == ["mobilePhone"]
    assert item_json(flagged)["changes"] == [
        {
            "field": "mobilePhone",
            "from": "+44 7700 900999",
            "to": "+44 7700 900001",
            "baseline": "+44 7700 900001",
        }
    ]
    kept = one(
        person(),
        OUTLOOK_EDITED,
        written(LAST_WRITE),
        mobilePhone=FieldPolicy.KEEP_OFFICE365_EDITS,
    )
    assert details(kept) == "Mobile: changed in Office 365 since the last sync; kept (field policy)"
    plain = one(person(mobile="+44 1"), LAST_WRITE, written(LAST_WRITE))
    assert item_json(plain)["changes"] == [
        {"field": "mobilePhone", "from": "+44 7700 900001", "to": "+44 1"}
    ]
    assert details(plain) == "Mobile: +44 7700 900001 → +44 1"


def test_a_kept_edit_stays_an_edit_after_a_write_of_another_field() -> None:
    policy = {"mobilePhone": FieldPolicy.KEEP_OFFICE365_EDITS}
    item = one(person(home_town="York"), OUTLOOK_EDITED, written(LAST_WRITE), **policy)
    assert item.kept_baseline == {"mobilePhone": "+44 7700 900001"}
    after_write = contact(mobilePhone="+44 7700 900999", homeAddress={"city": "York"})
    entry = journal_entry(item, WriteResult("7", Outcome.UPDATED, "c1", contact=after_write))
    assert entry is not None
    assert entry.baseline["mobilePhone"] == "+44 7700 900001"
    assert entry.baseline["homeAddress.city"] == "York"
    journal = {"7": replace(written(LAST_WRITE)["7"], baseline=entry.baseline)}
    again = one(person(home_town="York"), after_write, journal, **policy)
    assert (again.state, again.edited_in_office365) == (State.UNCHANGED, ("mobilePhone",))
