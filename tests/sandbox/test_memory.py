"""The in-memory ports over the sandbox store."""

from __future__ import annotations

import pytest

from central365.core.errors import Conflict, SourceError
from central365.core.model import (
    CentralContact,
    ContactWrite,
    FolderInfo,
    Outcome,
    RowProblem,
    WriteKind,
    WriteResult,
)
from central365.mailstore.store import SandboxStore, seed_folder
from central365.memory import InMemoryFolder, InMemoryMailbox, InMemorySource
from tests.sandbox.conftest import MAILBOX, UNKNOWN_ID, contact_body


def create(key: str, i: int) -> ContactWrite:
    return ContactWrite(key, WriteKind.CREATE, contact_body(i), f"person{i}@example.com")


def test_mailbox_folders(store: SandboxStore) -> None:
    mailbox = InMemoryMailbox(store, MAILBOX)
    assert mailbox.name == MAILBOX
    assert mailbox.find_folder("CRM") is None
    crm = mailbox.create_folder("CRM")
    assert mailbox.find_folder("crm") == crm
    child = store.create_folder(MAILBOX, "Child", crm.id)
    assert [f.id for f in mailbox.folders()] == [crm.id, child["id"]]
    with pytest.raises(Conflict):
        mailbox.create_folder("CRM")
    seed_folder(store, MAILBOX, "CRM", allow_duplicate=True)
    with pytest.raises(Conflict, match="2 contacts folders named 'CRM'"):
        mailbox.find_folder("CRM")


def test_folder_writes_and_reads(store: SandboxStore) -> None:
    mailbox = InMemoryMailbox(store, MAILBOX)
    folder = mailbox.folder(mailbox.create_folder("CRM"))
    seen: list[WriteResult] = []
    results = folder.write([create("1", 1), create("2", 2)], on_result=seen.append)
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED]
    assert seen == results
    first_id = results[0].office365_id
    assert first_id is not None
    update = ContactWrite(
        "1", WriteKind.UPDATE, {"surname": "New", "displayName": "X New"}, "", first_id
    )
    (updated,) = folder.write([update])
    assert updated == WriteResult("1", Outcome.UPDATED, first_id)
    (found,) = folder.find_by_email("PERSON1@example.com")
    assert (found.id, found.surname, found.display_name) == (first_id, "New", "X New")
    assert folder.find_by_email("nobody@example.com") == []
    assert {c.id for c in folder.contacts()} == {r.office365_id for r in results}
    other = mailbox.folder(mailbox.create_folder("Other"))
    assert list(other.contacts()) == []


def test_refusals_become_failed_results(store: SandboxStore) -> None:
    mailbox = InMemoryMailbox(store, MAILBOX)
    folder = mailbox.folder(mailbox.create_folder("CRM"))
    too_many = {"emailAddresses": [{"address": f"a{i}@b.test"} for i in range(4)]}
    results = folder.write(
        [
            ContactWrite("1", WriteKind.CREATE, too_many, "a0@b.test"),
            ContactWrite("2", WriteKind.UPDATE, {"surname": "x"}, "", UNKNOWN_ID),
            ContactWrite("3", WriteKind.UPDATE, {"surname": "x"}, ""),
            create("4", 4),
        ]
    )
    assert [r.outcome for r in results] == [Outcome.FAILED] * 3 + [Outcome.CREATED]
    assert results[0].error is not None and "EmailAddresses has 4 entries" in results[0].error
    assert results[1].error is not None and "ErrorItemNotFound" in results[1].error
    assert results[2].error is not None


def test_update_of_a_contact_in_another_folder_fails(store: SandboxStore) -> None:
    a = seed_folder(store, MAILBOX, "A", [contact_body(1)])
    b = seed_folder(store, MAILBOX, "B")
    (contact,) = store.list_contacts(MAILBOX, a["id"])
    folder = InMemoryFolder(store, MAILBOX, FolderInfo(b["id"], "B"))
    (result,) = folder.write([ContactWrite("1", WriteKind.UPDATE, {}, "", contact["id"])])
    assert result.outcome is Outcome.FAILED


def test_fail_on_injects_failures_without_writing(store: SandboxStore) -> None:
    mailbox = InMemoryMailbox(store, MAILBOX, fail_on={"2": "Injected failure."})
    folder = mailbox.folder(mailbox.create_folder("CRM"))
    results = folder.write([create("1", 1), create("2", 2)])
    assert results[1] == WriteResult("2", Outcome.FAILED, None, "Injected failure.")
    assert len(list(folder.contacts())) == 1


def test_in_memory_source() -> None:
    records: list[CentralContact | RowProblem] = [
        CentralContact(key="1", first_name="A"),
        RowProblem(line=3, message="bad row"),
    ]
    source = InMemorySource(records, description="two rows")
    assert source.describe() == "two rows"
    assert list(source.read()) == records
    assert list(source.read()) == records  # can be read again
    broken = InMemorySource([], error="The file is missing.")
    with pytest.raises(SourceError, match="file is missing"):
        list(broken.read())


def test_the_in_memory_fake_loads_nothing_of_the_emulator() -> None:
    """Importing the fake costs no web server, sign-in or crypto library, nor the emulator."""
    import subprocess
    import sys

    code = (
        "import sys, central365.memory\n"
        "heavy = ('uvicorn', 'starlette', 'fastapi', 'msal', 'jwt', 'cryptography', "
        "'central365.sandbox')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
