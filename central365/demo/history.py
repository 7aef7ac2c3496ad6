"""The demo's past: one earlier run, and what happened since in Outlook and in Central.

A fresh demo has no history, so the journal would have nothing to show.  This plays a short
past through the product itself, as a person would have lived it:

1. the command line synchronised a handful of new records (a real run: History lists it, the
   journal keeps what it wrote, and its **Undo this run** works);
2. since then, somebody edited one of those contacts in Outlook (its mobile), deleted another
   in Outlook, and in Central one person's email changed and another left (made inactive).

So the homepage shows an Outlook edit with all three values, an email change followed by its
Central anchor (an update, never a second contact), a contact deleted in Outlook, and an
anchored contact whose record is no longer active (Only in Office 365).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from central365.core.mapping import ANCHOR_PROPERTY_ID
from central365.mailstore.store import SandboxStore

#: The records the earlier run created (new in the demo data, valid and active).
EDITED_IN_OUTLOOK = "1074"
EMAIL_CHANGED = "1075"
LEFT_CENTRAL = "1076"
DELETED_IN_OUTLOOK = "1077"
WRITTEN_EARLIER = (EDITED_IN_OUTLOOK, EMAIL_CHANGED, LEFT_CENTRAL, DELETED_IN_OUTLOOK, "1078")

OUTLOOK_MOBILE = "07700 955555"
NEW_EMAIL_DOMAIN = "new-employer.example.com"


class DemoHistoryError(RuntimeError):
    """The earlier run could not be played (the demo still starts, without a history)."""


@dataclass(frozen=True, slots=True)
class DemoHistory:
    """What the played past left behind, for the demo's text and its tests."""

    run_id: int
    new_email: str


def play_history(
    config: Path, central_db: Path, store: SandboxStore, mailbox: str, folder: str
) -> DemoHistory:
    """Run the earlier sync through the command line, then make the later changes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL365_")}
    keys = [arg for key in WRITTEN_EARLIER for arg in ("--key", key)]
    command = [sys.executable, "-m", "central365", "--config", str(config), "sync", *keys]
    done = subprocess.run(
        [*command, "--yes", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise DemoHistoryError(f"the demo's earlier run failed: {last}")
    run_id = int(json.loads(done.stdout)["run_id"])

    contacts = _written_contacts(store, mailbox, folder)
    store.update_contact(mailbox, contacts[EDITED_IN_OUTLOOK], {"mobilePhone": OUTLOOK_MOBILE})
    store.delete_contact(mailbox, contacts[DELETED_IN_OUTLOOK])

    engine = create_engine(f"sqlite:///{central_db}")
    try:
        with engine.begin() as connection:
            old = connection.execute(
                text("SELECT email FROM contacts WHERE id = :id"), {"id": EMAIL_CHANGED}
            ).scalar_one()
            new_email = f"{old.split('@', 1)[0]}@{NEW_EMAIL_DOMAIN}"
            connection.execute(
                text("UPDATE contacts SET email = :email WHERE id = :id"),
                {"email": new_email, "id": EMAIL_CHANGED},
            )
            connection.execute(
                text("UPDATE contacts SET status = 'inactive' WHERE id = :id"),
                {"id": LEFT_CENTRAL},
            )
    finally:
        engine.dispose()
    return DemoHistory(run_id=run_id, new_email=new_email)


def _written_contacts(store: SandboxStore, mailbox: str, folder: str) -> dict[str, str]:
    """Central id → Office 365 id of the contacts the earlier run wrote (by their anchor)."""
    (folder_id,) = [f["id"] for f in store.list_folders(mailbox) if f["displayName"] == folder]
    found: dict[str, str] = {}
    for contact in store.list_contacts(mailbox, folder_id):
        stored = store.relationships(mailbox, contact["id"])
        for prop in stored.get("singleValueExtendedProperties") or []:
            if prop.get("id") == ANCHOR_PROPERTY_ID and prop.get("value") in WRITTEN_EARLIER:
                found[prop["value"]] = contact["id"]
    missing = sorted(set(WRITTEN_EARLIER) - set(found))
    if missing:
        raise DemoHistoryError(f"the demo's earlier run did not write {', '.join(missing)}")
    return found
