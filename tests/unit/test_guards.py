"""Guards against mass changes: each threshold at its edge, the minimum, and selections."""

from __future__ import annotations

import pytest

from central365.core.guards import GuardThresholds, check_guards
from central365.core.model import FieldChange, GuardCode, Plan, PlanItem, State

THRESHOLDS = GuardThresholds(clear_percent=10, update_percent=50, shrink_percent=50)


def matched(key: str, *changes: FieldChange) -> PlanItem:
    state = State.UPDATE if changes else State.UNCHANGED
    return PlanItem(key, state, "N", f"{key}@example.com", office365_id=f"c{key}", changes=changes)


def clears(field: str = "mobilePhone") -> FieldChange:
    return FieldChange(field, "07700 900001", None)


def plan_of(items: list[PlanItem], folder_size: int | None = None) -> Plan:
    size = len(items) if folder_size is None else folder_size
    return Plan(items=tuple(items), folder_size=size)


def codes(
    plan: Plan, previous_source_size: int | None = None, selected: set[str] | None = None
) -> list[GuardCode]:
    found = check_guards(
        plan, THRESHOLDS, previous_source_size=previous_source_size, selected=selected
    )
    return [g.code for g in found]


@pytest.mark.parametrize(("cleared", "tripped"), [(10, False), (11, True)])
def test_mass_clear_trips_above_its_percentage_of_matched_contacts(
    cleared: int, tripped: bool
) -> None:
    items = [matched(str(i), clears()) for i in range(cleared)]
    items += [matched(str(i)) for i in range(cleared, 100)]
    plan = plan_of(items, folder_size=1000)  # far from mass_update
    assert (GuardCode.MASS_CLEAR in codes(plan)) is tripped


def test_mass_clear_names_each_field_and_counts_per_field() -> None:
    items = [matched(str(i), clears(), clears("businessHomePage")) for i in range(20)]
    items += [matched(str(i), clears("title")) for i in range(20, 25)]  # 5 %: fine
    items += [matched(str(i)) for i in range(25, 100)]
    (guard,) = check_guards(plan_of(items, folder_size=1000), THRESHOLDS)
    assert guard.code is GuardCode.MASS_CLEAR
    assert "Mobile on 20 (20 %)" in guard.message and "Website on 20" in guard.message
    assert "Title" not in guard.message
    assert "of the 100 matched contacts" in guard.message and "10 %" in guard.message


def test_a_change_from_one_value_to_another_is_not_a_clear() -> None:
    items = [matched(str(i), FieldChange("mobilePhone", "1", "2")) for i in range(50)]
    assert GuardCode.MASS_CLEAR not in codes(plan_of(items, folder_size=1000))


@pytest.mark.parametrize(("updates", "tripped"), [(50, False), (51, True)])
def test_mass_update_trips_above_half_the_folder(updates: int, tripped: bool) -> None:
    items = [matched(str(i), FieldChange("title", "Mr", "Dr")) for i in range(updates)]
    plan = plan_of(items, folder_size=100)
    assert (GuardCode.MASS_UPDATE in codes(plan)) is tripped


def test_new_contacts_are_not_updates_and_an_empty_folder_trips_nothing() -> None:
    new = [PlanItem(str(i), State.NEW, "N", f"{i}@example.com") for i in range(50)]
    assert codes(plan_of(new, folder_size=0)) == []


@pytest.mark.parametrize(("active", "tripped"), [(50, False), (49, True), (0, True)])
def test_source_shrunk_trips_above_half_or_at_zero(active: int, tripped: bool) -> None:
    items = [matched(str(i)) for i in range(active)]
    assert (GuardCode.SOURCE_SHRUNK in codes(plan_of(items), previous_source_size=100)) is tripped


def test_source_shrunk_needs_a_previous_size() -> None:
    assert codes(plan_of([]), previous_source_size=None) == []
    assert codes(plan_of([]), previous_source_size=0) == []
    (guard,) = check_guards(plan_of([]), THRESHOLDS, previous_source_size=3)
    assert guard.message.startswith("Central has no active records now, against 3")


def test_a_small_change_is_never_a_mass_change() -> None:
    """Below `min_contacts` affected, no guard trips however large the share."""
    items = [matched(str(i), clears(), FieldChange("title", "Mr", "Dr")) for i in range(9)]
    plan = plan_of(items)
    assert codes(plan, previous_source_size=18) == []
    assert codes(plan, previous_source_size=19) == [GuardCode.SOURCE_SHRUNK]  # 10 gone
    strict = GuardThresholds(min_contacts=1)
    assert [g.code for g in check_guards(plan, strict)] == [
        GuardCode.MASS_CLEAR,
        GuardCode.MASS_UPDATE,
    ]


def test_only_the_selected_writes_count() -> None:
    items = [matched(str(i), clears()) for i in range(40)]
    items += [matched(str(i)) for i in range(40, 100)]
    plan = plan_of(items)
    assert codes(plan) == [GuardCode.MASS_CLEAR]
    assert codes(plan, selected={str(i) for i in range(10)}) == []
    assert codes(plan, selected={str(i) for i in range(11)}) == [GuardCode.MASS_CLEAR]


def test_thresholds_are_settings() -> None:
    items = [matched(str(i), clears()) for i in range(30)]
    items += [matched(str(i)) for i in range(30, 100)]
    plan = plan_of(items, folder_size=1000)
    assert check_guards(plan, GuardThresholds(clear_percent=30)) == ()
    assert len(check_guards(plan, GuardThresholds(clear_percent=29.5))) == 1
