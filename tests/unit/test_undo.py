"""The pure undo planner (`core.undo`): each rule and reason, and its journal entries."""

from __future__ import annotations

from datetime import UTC, datetime

from central365.core.journal import JournalAction, JournalContact, JournalWrite
from central365.core.mapping import ANCHOR_PROPERTY_ID, synced_values
from central365.core.model import (
    EmailAddress,
    FolderContact,
    Outcome,
    PostalAddress,
    WriteKind,
    WriteResult,
)
from central365.core.undo import (
    HAS_CONTACT_AGAIN,
    NOTHING_TO_RESTORE,
    TWICE,
    UndoAction,
    changed_since,
    plan_undo,
    still_there,
    undo_entry,
    written_again,
)

WHEN = datetime(2026, 12, 1, tzinfo=UTC)


def contact(cid: str, key: str, ck: str = "ck1", **extra: object) -> FolderContact:
    fields: dict[str, object] = {
        "id": cid,
        "display_name": "Ann Lee",
        "given_name": "Ann",
        "surname": "Lee",
        "email_addresses": (EmailAddress("ann@example.com", "Ann Lee"),),
        "change_key": ck,
        "anchor": key,
    }
    fields.update(extra)
    return FolderContact(**fields)  # type: ignore[arg-type]


def write(
    key: str, cid: str, action: JournalAction, ck: str = "ck1", **before: str | None
) -> JournalWrite:
    return JournalWrite(key, cid, action, before, ck, WHEN)


def journalled(c: FolderContact, run_id: int | None) -> JournalContact:
    return JournalContact(c.anchor, c.id, synced_values(c), c.change_key, run_id, WHEN)


def test_an_update_is_restored_with_only_what_the_run_changed() -> None:
    now = contact(
        "c1", "1", mobile_phone="07700 900001", home_address=PostalAddress("1 High St", "Leeds")
    )
    item = plan_undo(
        7,
        [write("1", "c1", JournalAction.UPDATED, mobilePhone=None, **{"homeAddress.city": "York"})],
        [now],
        {"1": journalled(now, 7)},
    ).items[0]
    assert item.action is UndoAction.RESTORE
    assert {(c.field, c.before, c.after) for c in item.changes} == {
        ("mobilePhone", "07700 900001", None),
        ("homeAddress.city", "Leeds", "York"),
    }
    assert item.body["mobilePhone"] is None
    assert item.body["homeAddress"]["street"] == "1 High St"  # the other parts stay
    sent = item.write()
    assert sent is not None and (sent.kind, sent.contact_id) == (WriteKind.UPDATE, "c1")


def test_a_first_email_the_run_gave_is_taken_away_keeping_the_others() -> None:
    now = contact(
        "c1",
        "1",
        email_addresses=(EmailAddress("new@example.com", "Ann"), EmailAddress("x@example.com", "")),
    )
    (item,) = plan_undo(
        3, [write("1", "c1", JournalAction.UPDATED, **{"emailAddresses[0]": None})], [now], {}
    ).items
    assert item.body["emailAddresses"] == [{"address": "x@example.com", "name": ""}]


def test_changed_since_unless_the_values_are_still_the_baseline() -> None:
    edited = contact("c1", "1", ck="ck2", mobile_phone="07700 900999")
    run = [write("1", "c1", JournalAction.CREATED)]
    baseline = journalled(contact("c1", "1"), 4)
    (item,) = plan_undo(4, run, [edited], {"1": baseline}).items
    assert (item.action, item.reason) == (UndoAction.SKIP, changed_since(4))
    # Another changeKey but the same synced values (a non-synced field edited): still undone.
    same = contact("c1", "1", ck="ck3")
    assert plan_undo(4, run, [same], {"1": baseline}).items[0].action is UndoAction.DELETE
    # ... unless a later run was the last to write it.
    (later,) = plan_undo(4, run, [same], {"1": journalled(same, 9)}).items
    assert later.reason == written_again(9)
    # A row adopted without a run (run_id None) is no later write.
    assert plan_undo(4, run, [contact("c1", "1")], {}).items[0].action is UndoAction.DELETE


def test_nothing_to_restore_when_the_values_are_back_already() -> None:
    now = contact("c1", "1")
    (item,) = plan_undo(
        2, [write("1", "c1", JournalAction.UPDATED, givenName="Ann")], [now], {}
    ).items
    assert (item.action, item.reason) == (UndoAction.SKIP, NOTHING_TO_RESTORE)


def test_a_deleted_contact_is_made_again_once_with_its_anchor() -> None:
    held = {
        "givenName": "Ann",
        "surname": "Lee",
        "emailAddresses[0]": "ann@example.com",
        "mobilePhone": None,
        "homeAddress.city": "York",
    }
    run = [
        write("1", "c1", JournalAction.DELETED, "", **held),
        write("1", "c2", JournalAction.DELETED, "", **held),
    ]
    first, second = plan_undo(5, run, [], {}).items
    assert first.action is UndoAction.RECREATE and (second.action, second.reason) == (
        UndoAction.SKIP,
        TWICE,
    )
    assert first.body["displayName"] == "Ann Lee"
    assert first.body["homeAddress"]["city"] == "York"
    assert first.body["singleValueExtendedProperties"] == [{"id": ANCHOR_PROPERTY_ID, "value": "1"}]
    assert "mobilePhone" not in first.body
    sent = first.write()
    assert sent is not None and (sent.kind, sent.contact_id) == (WriteKind.CREATE, None)
    # Not while the folder holds it, or another contact of the record, or a later run wrote it.
    assert plan_undo(5, run[:1], [contact("c1", "1")], {}).items[0].reason == still_there(5)
    assert plan_undo(5, run[:1], [contact("c9", "1")], {}).items[0].reason == HAS_CONTACT_AGAIN
    again = journalled(contact("c9", "1"), 8)
    assert plan_undo(5, run[:1], [], {"1": again}).items[0].reason == written_again(8)


def test_undo_entries_make_the_undo_undoable() -> None:
    now = contact("c1", "1", mobile_phone="07700 900001")
    (restore,) = plan_undo(
        7, [write("1", "c1", JournalAction.UPDATED, mobilePhone=None)], [now], {}
    ).items
    restored = contact("c1", "1", ck="ck2")
    entry = undo_entry(restore, WriteResult("1", Outcome.UPDATED, "c1", contact=restored))
    assert entry is not None and entry.action is JournalAction.UPDATED
    assert (entry.before, entry.change_key) == ({"mobilePhone": "07700 900001"}, "ck2")
    unanswered = undo_entry(restore, WriteResult("1", Outcome.UPDATED, "c1"))
    assert unanswered is not None and unanswered.baseline["mobilePhone"] == ""

    (delete,) = plan_undo(
        7, [write("1", "c1", JournalAction.CREATED)], [contact("c1", "1")], {}
    ).items
    gone = undo_entry(delete, WriteResult("1", Outcome.DELETED, "c1"))
    assert gone is not None and gone.action is JournalAction.DELETED
    assert gone.before["givenName"] == "Ann" and gone.before["mobilePhone"] is None

    held = {"givenName": "Ann", "emailAddresses[0]": "ann@example.com"}
    (recreate,) = plan_undo(7, [write("1", "c1", JournalAction.DELETED, "", **held)], [], {}).items
    made = undo_entry(recreate, WriteResult("1", Outcome.CREATED, "c5"))
    assert made is not None and (made.action, made.office365_id) == (JournalAction.CREATED, "c5")
    assert made.baseline["givenName"] == "Ann" and made.baseline["surname"] == ""
    assert undo_entry(recreate, WriteResult("1", Outcome.FAILED, None, "no")) is None
