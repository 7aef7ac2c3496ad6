"""Graph-looking ids and changeKeys, at the sizes Exchange Online hands out.

Real regular (REST) contact ids are ~152 characters of url-safe base64 that start `AAMkA` and
end `=` (reference §6.2 example; issue 10 item 9); immutable ids start `AAkA` and keep the same
value when the item moves folder, while the regular id changes (reference §6.1).  ChangeKeys are
40 characters (`EQAAABYAAAA...`).  Everything is derived from a hash of what identifies the
item, so runs and demos repeat, and anything that stores ids is tested at real size.
"""

from __future__ import annotations

import base64
import hashlib

#: Byte lengths that give base64 texts of Exchange's sizes.
_ITEM_ID_BYTES = 113  # 152 characters, one "=" of padding
_FOLDER_ID_BYTES = 88  # 120 characters, like a contactFolder id
_IMMUTABLE_ID_BYTES = 80  # 108 characters
_CHANGE_KEY_BYTES = 30  # 40 characters

_KIND_BYTES = {"root": b"\x00\x01", "folder": b"\x00\x2e", "contact": b"\x00\x46"}


def _stretch(seed: str, size: int) -> bytes:
    """`size` deterministic bytes from `seed` (SHA-256 blocks, counter-extended)."""
    out = b""
    block = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}|{block}".encode()).digest()
        block += 1
    return out[:size]


def regular_id(mailbox_key: str, kind: str, number: int, place: str = "") -> str:
    """The regular id of the `number`th item of `kind` in a mailbox.

    `place` is where the item sits (a contact's folder and move count): a regular id names
    its folder, so it changes when the item moves (reference §6.1).
    """
    size = _ITEM_ID_BYTES if kind == "contact" else _FOLDER_ID_BYTES
    head = b"\x00\x03\x24\x00" + _KIND_BYTES[kind]
    seed = f"{mailbox_key.casefold()}|{kind}|{number}|{place}"
    return base64.urlsafe_b64encode(head + _stretch(seed, size - len(head))).decode()


def immutable_id(mailbox_key: str, number: int) -> str:
    """The immutable id of the `number`th contact of a mailbox: the same in every folder."""
    head = b"\x00\x09\x00\x2e\x00\x00\x00\x00\x00"
    seed = f"{mailbox_key.casefold()}|immutable|{number}"
    body = head + _stretch(seed, _IMMUTABLE_ID_BYTES - len(head))
    return base64.urlsafe_b64encode(body).decode()


def change_key(item_id: str, version: int) -> str:
    """A 40-character changeKey, new for every version of the item (reference §1.1)."""
    head = b"\x11\x00\x00\x00\x16\x00\x00\x00"
    return base64.b64encode(head + _stretch(f"{item_id}|{version}", _CHANGE_KEY_BYTES - 8)).decode()


def looks_malformed(item_id: str) -> bool:
    """True for an id Exchange could not even decode: it answers 400 `ErrorInvalidIdMalformed`.

    Graph ids are base64 (url-safe), so anything with other characters, or too short to hold
    a mailbox and an item, cannot be one (issue 10 item 5).
    """
    if len(item_id) < 16:
        return True
    text = item_id.rstrip("=")
    if len(item_id) - len(text) > 2:
        return True
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/")
    if not set(text) <= alphabet:
        return True
    padded = text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
    try:
        base64.b64decode(padded, validate=True)
    except ValueError:
        return True
    return False
