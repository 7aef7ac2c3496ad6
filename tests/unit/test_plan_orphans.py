"""Orphans (anchored contacts without a record to sync them), people's own contacts, contacts
deleted in Outlook (`recreate` / `respect_deletes`) and the `mass_delete` guard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from central365.core.guards import GuardThresholds, delete_guard
from central365.core.journal import JournalContact
from central365.core.mapping import ANCHOR_PROPERTY_ID, folder_contact_from_graph
from central365.core.model import (
    CentralContact,
    FolderContact,
    GuardCode,
    OrphanWhy,
    Plan,
    PlanItem,
    Reason,
    State,
)
from central365.core.plan import build_plan
from central365.core.policy import DeletedContacts
from central365.engine.plan_memo import fingerprint


def person(key: str, email: str, status: str = "active", **fields: Any) -> CentralContact:
    values: dict[str, Any] = {"first_name": "Ann", "last_name": "Lee"} | fields
    return CentralContact(key=key, status=status, email=email, **values)


def contact(cid: str, email: str, anchor: str = "", name: str = "Ann Lee") -> FolderContact:
    data: dict[str, Any] = {
        "id": cid,
        "displayName": name,
        "givenName": "Ann",
        "surname": "Lee",
        "emailAddresses": [{"address": email, "name": email}] if email else [],
    }
    if anchor:
        data["singleValueExtendedProperties"] = [{"id": ANCHOR_PROPERTY_ID, "value": anchor}]
    return folder_contact_from_graph(data)


def written(key: str, office365_id: str, run_id: int | None = 3) -> JournalContact:
    return JournalContact(
        key=key,
        office365_id=office365_id,
        baseline={},
        change_key="ck",
        run_id=run_id,
        written_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def item(plan: Plan, key: str) -> PlanItem:
    return next(i for i in plan.items if i.key == key)


def test_orphans_say_why_and_people_s_own_contacts_are_only_counted() -> None:
    central = [
        person("1", "ann@example.com"),  # synced: not an orphan
        person("2", "bob@example.com", status="inactive"),
        person("3", "cat@example.com", first_name="Deceased"),
    ]
    folder = [
        contact("c1", "ann@example.com", anchor="1"),
        contact("c2", "bob@example.com", anchor="2", name="Bob Roe"),
        contact("c3", "cat@example.com", anchor="3"),
        contact("c9", "gone@example.com", anchor="9", name="Gone Away"),
        contact("own1", "friend@example.com"),  # a person's own: no anchor, no record
        contact("own2", "family@example.com"),
    ]
    plan = build_plan(central, folder)
    whys = {o.office365_id: (o.key, o.why_code) for o in plan.orphans}
    assert whys == {
        "c2": ("2", "record_inactive"),
        "c3": ("3", "non_actionable: deceased"),
        "c9": ("9", "record_gone"),
    }
    gone = next(o for o in plan.orphans if o.key == "9")
    assert (gone.name, gone.email, gone.why) == (
        "Gone Away",
        "gone@example.com",
        OrphanWhy.RECORD_GONE,
    )
    assert "no Central record" in gone.why_text
    deceased = next(o for o in plan.orphans if o.key == "3")
    assert deceased.reason is Reason.DECEASED and "deceased" in deceased.why_text
    assert plan.unanchored_count == 2
    assert plan.folder_size == 6  # orphans stay in the folder: nothing is deleted by a plan


def test_a_contact_matched_by_email_is_not_people_s_own() -> None:
    plan = build_plan([person("1", "ann@example.com")], [contact("c1", "ann@example.com")])
    assert plan.unanchored_count == 0 and plan.orphans == ()


def test_a_contact_carrying_the_anchor_of_a_record_of_a_shared_id_is_an_orphan_with_the_reason() -> (
    None
):
    central = [person("5", "a@example.com"), person("5", "b@example.com")]
    plan = build_plan(central, [contact("c5", "a@example.com", anchor="5")])
    assert [o.why_code for o in plan.orphans] == ["non_actionable: duplicate_id"]


def test_a_journalled_contact_deleted_in_outlook_is_recreated_by_default() -> None:
    plan = build_plan([person("1", "ann@example.com")], [], baselines={"1": written("1", "c1")})
    found = item(plan, "1")
    assert found.state is State.NEW
    assert found.deleted_in_office365 and found.deleted_since_run == 3
    assert found.body  # a whole new contact


def test_respect_deletes_leaves_it_deleted_with_the_reason() -> None:
    plan = build_plan(
        [person("1", "ann@example.com")],
        [],
        baselines={"1": written("1", "c1")},
        deleted_contacts=DeletedContacts.RESPECT_DELETES,
    )
    found = item(plan, "1")
    assert found.state is State.NON_ACTIONABLE
    assert found.reasons == (Reason.DELETED_IN_OFFICE365,)
    assert found.deleted_in_office365 and not found.body


def test_a_contact_still_in_the_folder_or_never_journalled_is_not_deleted() -> None:
    # The journalled contact is still there (its anchor and address were changed by a person):
    # the record finds nothing, yet nothing was deleted.
    folder = [contact("c1", "other@example.com")]
    kept = build_plan(
        [person("1", "ann@example.com")],
        folder,
        baselines={"1": written("1", "c1")},
        deleted_contacts=DeletedContacts.RESPECT_DELETES,
    )
    assert item(kept, "1").state is State.NEW and not item(kept, "1").deleted_in_office365
    fresh = build_plan([person("2", "bob@example.com")], [], baselines={})
    assert not item(fresh, "2").deleted_in_office365


def test_a_record_found_again_by_email_is_not_deleted() -> None:
    plan = build_plan(
        [person("1", "ann@example.com")],
        [contact("c2", "ann@example.com")],
        baselines={"1": written("1", "c1")},
        deleted_contacts=DeletedContacts.RESPECT_DELETES,
    )
    assert item(plan, "1").state is State.UNCHANGED and not item(plan, "1").deleted_in_office365


def test_the_deleted_contacts_policy_is_part_of_the_memo_fingerprint() -> None:
    records = [person("1", "ann@example.com")]
    baselines = {"1": written("1", "c1")}
    assert fingerprint(records, [], None, baselines, {}) != fingerprint(
        records, [], None, baselines, {}, DeletedContacts.RESPECT_DELETES
    )
    assert fingerprint(records, [], None, baselines) != fingerprint(
        records, [], None, {"1": written("1", "c1", run_id=4)}
    )


anchors = st.sampled_from(["", "1", "2", "3", "4", "5"])
statuses = st.sampled_from(["active", "inactive"])


@given(
    central=st.lists(st.tuples(st.sampled_from(["1", "2", "3"]), statuses), max_size=4),
    folder=st.lists(st.tuples(anchors, st.sampled_from(["a", "b", "c", "z"])), max_size=6),
)
def test_every_contact_is_synced_an_orphan_or_people_s_own_never_two(
    central: list[tuple[str, str]], folder: list[tuple[str, str]]
) -> None:
    records = [person(k, f"{k}@example.com", status=s) for k, s in central]
    contacts = [contact(f"c{n}", f"{e}@example.com", anchor=a) for n, (a, e) in enumerate(folder)]
    plan = build_plan(records, contacts)
    orphan_ids = {o.office365_id for o in plan.orphans}
    synced = {i.office365_id for i in plan.items if i.state in (State.UPDATE, State.UNCHANGED)}
    assert not orphan_ids & synced
    assert all(c.anchor for c in contacts if c.id in orphan_ids)
    assert len(orphan_ids) == len(plan.orphans)
    unanchored_unmatched = [
        c for c in contacts if not c.anchor and c.id not in {i.office365_id for i in plan.items}
    ]
    # People's own: never orphans; counted apart (an address several records share counts as
    # matched, so the count is at most those no item names).
    assert plan.unanchored_count <= len(unanchored_unmatched)
    active = {k for k, s in central if s == "active"}
    for orphan in plan.orphans:
        if orphan.why is OrphanWhy.RECORD_GONE:
            assert orphan.key not in {k for k, _ in central}
        if orphan.why is OrphanWhy.RECORD_INACTIVE:
            assert orphan.key not in active


def test_mass_delete_trips_over_the_share_of_the_folder() -> None:
    limits = GuardThresholds(delete_percent=10, min_contacts=2)
    assert delete_guard(10, 100, limits) is None  # exactly 10 % passes
    tripped = delete_guard(11, 100, limits)
    assert tripped is not None and tripped.code is GuardCode.MASS_DELETE
    assert "11 of the folder's 100" in tripped.message
    assert delete_guard(1, 2, limits) is None  # fewer than min_contacts: never a mass change
    assert delete_guard(5, 0) is None


def test_the_terminal_says_what_is_recreated_and_what_is_only_in_office365() -> None:
    from rich.console import Console

    from central365.cli.render import deleted_note, details, print_orphans_note

    plan = build_plan([person("1", "ann@example.com")], [], baselines={"1": written("1", "c1")})
    assert details(item(plan, "1")) == "deleted in Outlook since run 3, will be recreated"
    unknown_run = build_plan(
        [person("1", "ann@example.com")], [], baselines={"1": written("1", "c1", run_id=None)}
    )
    assert deleted_note(item(unknown_run, "1")) == "deleted in Outlook, will be recreated"
    folder = [contact(f"c{n}", f"x{n}@example.com", anchor=f"9{n}") for n in range(7)]
    console = Console(record=True, width=200)
    print_orphans_note(console, build_plan([], [*folder, contact("own", "own@example.com")]))
    said = " ".join(console.export_text().split())
    assert "7 contacts are only in Office 365" in said
    assert said.count("no Central record has this Central id") == 5  # the first few only
    assert "1 contact of people's own" in said
    quiet = Console(record=True)
    print_orphans_note(quiet, build_plan([], []))
    assert quiet.export_text() == ""
