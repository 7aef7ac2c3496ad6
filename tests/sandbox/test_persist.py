"""The SQLite state file: what is saved comes back, only changes are written, old JSON migrates."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from central365.mailstore import schema
from central365.mailstore.pending import PendingWrites
from central365.mailstore.store import SandboxStore, seed_folder
from central365.sandbox.context import SandboxContext
from central365.sandbox.persist import StateFile, StateFileError, load_state
from tests.sandbox.conftest import AUTH, MAILBOX, FakeClock, contact_body


def saved_and_reloaded(store: SandboxStore, path: Path, clock: FakeClock) -> SandboxStore:
    again = SandboxStore(clock=clock)
    assert load_state(again, path)
    return again


def test_round_trip_with_incremental_saves(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state" / "sandbox.db"
    store = SandboxStore(clock=clock, mailboxes=("other@contoso.test",))
    folder = seed_folder(store, MAILBOX, "CRM", [contact_body(1), contact_body(2)])
    state = StateFile(path)
    state.save_everything(store)
    assert not state.save_pending(store)  # nothing changed since
    one, two = store.list_contacts(MAILBOX, folder["id"])
    store.update_contact(MAILBOX, one["id"], {"surname": "Changed"})
    store.delete_contact(MAILBOX, two["id"])
    three = store.create_contact(MAILBOX, folder["id"], contact_body(3))
    store.create_folder("other@contoso.test", "Theirs")
    assert state.save_pending(store)
    state.close()
    again = saved_and_reloaded(store, path, clock)
    assert again.list_contacts(MAILBOX, folder["id"]) == store.list_contacts(MAILBOX, folder["id"])
    assert [f["displayName"] for f in again.list_folders("other@contoso.test")] == ["Theirs"]
    assert again.mailbox_user_id(MAILBOX) == store.mailbox_user_id(MAILBOX)
    mark = store.current_seq(MAILBOX)
    assert again.current_seq(MAILBOX) == mark
    removed = again.changes(MAILBOX, folder["id"], mark - 3, mark, initial=False)
    assert [(c.contact_id, c.body is None) for c in removed] == [
        (one["id"], False),
        (two["id"], True),
        (three["id"], False),
    ]
    created = again.create_contact(MAILBOX, folder["id"], contact_body(4))
    assert created["id"] not in {c["id"] for c in store.list_contacts(MAILBOX, folder["id"])}


def test_reset_is_saved_and_mailboxes_stay(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "sandbox.db"
    store = SandboxStore(clock=clock)
    seed_folder(store, MAILBOX, "CRM", [contact_body(1)])
    state = StateFile(path)
    state.save_everything(store)
    store.reset()
    state.save_pending(store)
    state.close()
    again = saved_and_reloaded(store, path, clock)
    assert again.list_folders(MAILBOX) == [] and again.has_mailbox(MAILBOX)


def test_old_json_state_is_migrated_and_kept_aside(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "sandbox.json"
    contact = {
        "id": "AAMkAOldStyleIdOfSixtyOneCharactersxxxxxxxxxxxxxxxxxxxxxxxxxx=",
        "folder_id": "AAMkAOldFolderIdxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=",
        "created": "2026-01-01T00:00:00Z",
        "modified": "2026-01-01T00:00:00Z",
        "change_key": "EQAAABYAAAAold",
        "seq": 1,
        "version": 1,
        "props": {**schema.blank_properties(), "givenName": "Old", "displayName": "Old"},
    }
    box = {
        "name": MAILBOX,
        "root_id": "AAMkARootxxxxxxxxxxxxxx=",
        "default_folder_id": contact["folder_id"],
        "folders": {
            contact["folder_id"]: {
                "id": contact["folder_id"],
                "display_name": "Contacts",
                "parent_folder_id": "AAMkARootxxxxxxxxxxxxxx=",
            }
        },
        "contacts": {contact["id"]: contact},
        "tombstones": [],
        "seq": 1,
        "counter": 1,
    }
    path.write_text(json.dumps({"format": 1, "default_mailbox": MAILBOX, "mailboxes": [box]}))
    store = SandboxStore(clock=clock)
    assert load_state(store, path)
    assert not path.exists() and path.with_name("sandbox.json.v1.json").exists()
    assert store.get_contact(MAILBOX, contact["id"])["changeKey"] == "EQAAABYAAAAold"
    state = StateFile(path)
    state.save_everything(store)
    state.close()
    assert saved_and_reloaded(store, path, clock).get_contact(MAILBOX, contact["id"])


def test_an_old_json_file_under_a_given_store_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    path.write_text(json.dumps({"format": 1, "mailboxes": []}))
    store = SandboxStore()
    seed_folder(store, MAILBOX, "CRM", [contact_body(1)])
    state = StateFile(path)  # the caller's store wins, as with the old JSON file
    state.save_everything(store)
    state.close()
    assert path.with_name("sandbox.json.v1.json").exists()
    again = SandboxStore()
    assert load_state(again, path) and len(again.list_folders(MAILBOX)) == 1


def test_other_files_are_refused_in_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(StateFileError, match="is not a sandbox state file; pass another"):
        load_state(SandboxStore(), path)
    with pytest.raises(StateFileError):
        StateFile(path)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": 99, "mailboxes": []}))
    with pytest.raises(StateFileError, match="format"):
        load_state(SandboxStore(), old)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


SANDBOX = (sys.executable, "-m", "central365", "sandbox")
MAILBOXES = ("--mailbox", "crm@contoso.test", "--mailbox", "other@contoso.test")


def _start(state: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [*SANDBOX, "--port", str(port), "--state", str(state), *MAILBOXES, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_sandbox/health").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the sandbox did not start")


@pytest.mark.e2e
def test_confirmed_writes_survive_kill_9(tmp_path: Path) -> None:
    state, port = tmp_path / "sandbox.db", _free_port()
    process = _start(state, port)
    confirmed: list[str] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1.0", headers=AUTH) as client:
            folder = client.post("/me/contactFolders", json={"displayName": "CRM"}).json()["id"]
            for start in range(0, 60, 20):  # batches: one save per batch
                members = [
                    {
                        "id": str(i),
                        "method": "POST",
                        "url": f"/me/contactFolders/{folder}/contacts",
                        "headers": {"Content-Type": "application/json"},
                        "body": contact_body(start + i),
                    }
                    for i in range(20)
                ]
                answers = client.post("/$batch", json={"requests": members}).json()["responses"]
                confirmed += [a["body"]["id"] for a in answers if a["status"] == 201]
            for i in range(60, 75):  # single requests: one save each
                created = client.post(f"/me/contactFolders/{folder}/contacts", json=contact_body(i))
                assert created.status_code == 201
                confirmed.append(created.json()["id"])
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert len(confirmed) == 75
    process = _start(state, port, "--display-name-overwrite")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1.0", headers=AUTH) as client:
            named = client.post("/me/contacts", json={"givenName": "A", "displayName": "Boss"})
            patched = client.patch(f"/me/contacts/{named.json()['id']}", json={"jobTitle": "x"})
            assert patched.json()["displayName"] == "A"  # the fault, from the command line
            listed = client.get(f"/me/contactFolders/{folder}/contacts", params={"$top": 999})
            assert {c["id"] for c in listed.json()["value"]} == set(confirmed)
            # /me is the first --mailbox; the others and the directory users exist, no others
            same = client.get(f"/users/crm%40contoso.test/contactFolders/{folder}")
            assert same.status_code == 200
            assert client.get("/users/other%40contoso.test/contacts").status_code == 200
            assert client.get("/users/ghost%40contoso.test/contacts").status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.e2e
def test_an_answer_waits_for_a_save_that_took_its_writes(tmp_path: Path) -> None:
    """Request B's save may take request A's writes; A must not answer before it commits."""
    store = SandboxStore()
    ctx = SandboxContext(store=store)
    events: list[str] = []

    class SlowStateFile(StateFile):
        def _write(self, pending: PendingWrites) -> None:  # rows already taken: slow commit
            time.sleep(0.2)
            super()._write(pending)
            events.append("save committed")

    ctx.state_file = SlowStateFile(tmp_path / "sandbox.db")

    async def answer(name: str) -> None:
        await ctx.save_writes()
        events.append(f"{name} answered")

    async def scenario() -> None:
        store.create_folder(MAILBOX, "A")  # A's write, taken by B's save
        b = asyncio.create_task(answer("B"))
        await asyncio.sleep(0.05)  # B's save is running and holds A's rows
        await answer("A")
        await b

    asyncio.run(scenario())
    assert events.index("A answered") > events.index("save committed")
    ctx.state_file.close()
