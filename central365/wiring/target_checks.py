"""`[targets.NAME]` tables of `central365.toml` → checked `SyncTarget`s, every problem named.

Each problem is one sentence starting with the key at fault (`targets.staff.schedule: ...`), so
a person fixes all of them in one go, as with the other settings (`config.load_settings`).

Rules: a name of letters, digits, `-` and `_`; `mailboxes` (addresses or object ids, no
repeats), `group` (the Entra group's object id) or `me = true` (the signed-in person), exactly
one; a target of the signed-in person has no `schedule` (an unattended run has nobody signed
in); `folder` a name Graph takes
(default: the top-level `folder` setting); `states` among new and update (default both);
`schedule` a five-field cron expression (minute hour day-of-month month day-of-week), checked
with croniter; `timezone` an IANA name (`Europe/London`), required with a schedule.

Reads the time-zone database (zoneinfo), so it is not in the pure `checks` module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from central365.core.model import ACTIONABLE_STATES, State
from central365.core.targets import SyncTarget
from central365.wiring.checks import GUID, MAILBOX, MAX_FOLDER_NAME

#: The keys a target table may have.
TARGET_KEYS = ("mailboxes", "group", "me", "folder", "states", "schedule", "timezone")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_EXAMPLE = 'e.g. mailboxes = ["ann@contoso.com"], group = "<Entra group id>" or me = true'


def parse_targets(raw: Any, default_folder: str) -> tuple[tuple[SyncTarget, ...], list[str]]:
    """The checked targets of a `targets` table, and every problem found (then no targets)."""
    if not isinstance(raw, Mapping):
        return (), ["targets must be a table of targets: [targets.NAME] sections."]
    targets: list[SyncTarget] = []
    problems: list[str] = []
    for name, table in raw.items():
        target, found = _target(str(name), table, default_folder)
        problems += found
        if target is not None:
            targets.append(target)
    return (tuple(targets) if not problems else ()), problems


def _target(name: str, table: Any, default_folder: str) -> tuple[SyncTarget | None, list[str]]:
    where = f"targets.{name}"
    if not _NAME.match(name):
        return None, [f"{where}: a target's name has letters, digits, - and _ only (at most 64)."]
    if not isinstance(table, Mapping):
        return None, [f"{where} must be a table: [{where}] with its mailboxes and folder."]
    problems = [
        f"{where}.{key}: unknown key; a target has {', '.join(TARGET_KEYS)}."
        for key in sorted(set(table) - set(TARGET_KEYS))
    ]
    mailboxes = _mailboxes(where, table.get("mailboxes"), problems)
    group = _group(where, table.get("group"), problems)
    me = _me(where, table.get("me", False), problems)
    chosen = [bool(mailboxes), group is not None, me].count(True)
    if not problems and chosen != 1:
        problems.append(
            f"{where}: give its mailboxes, one group or me = true, only one of them ({_EXAMPLE})."
            if chosen
            else f"{where}: name its mailboxes, its group or me = true ({_EXAMPLE})."
        )
    if me and "schedule" in table:
        problems.append(
            f"{where}.schedule: a target of the signed-in person runs only when they run it "
            "(sync --target); schedule a target of mailboxes or of a group instead."
        )
    folder = _folder(where, table.get("folder", default_folder), problems)
    states = _states(where, table.get("states", ["new", "update"]), problems)
    schedule = _schedule(where, table.get("schedule"), problems)
    timezone = _timezone(where, table.get("timezone"), problems)
    if schedule is not None and timezone is None and "timezone" not in table:
        problems.append(
            f'{where}.timezone: a schedule needs its time zone, e.g. timezone = "Europe/London".'
        )
    if problems:
        return None, problems
    return (
        SyncTarget(name, folder, mailboxes, group, states, schedule, timezone, me=me),
        [],
    )


def _mailboxes(where: str, raw: Any, problems: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw or not all(isinstance(m, str) for m in raw):
        problems.append(f"{where}.mailboxes must be a list of mailbox addresses, {_EXAMPLE}.")
        return ()
    chosen: list[str] = []
    seen: set[str] = set()
    for value in (m.strip() for m in raw):
        if not (MAILBOX.match(value) or GUID.match(value)):
            problems.append(
                f"{where}.mailboxes: {value!r} is not a mailbox address (name@domain) or an "
                "object id."
            )
        elif value.casefold() in seen:
            problems.append(f"{where}.mailboxes: {value} is listed twice.")
        else:
            seen.add(value.casefold())
            chosen.append(value)
    return tuple(chosen)


def _group(where: str, raw: Any, problems: list[str]) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not GUID.match(raw.strip()):
        problems.append(
            f"{where}.group must be the Entra group's object id (a GUID such as "
            "0d9b6c1e-2f3a-4b5c-8d7e-6f5a4b3c2d1e), not its name."
        )
        return None
    return raw.strip()


def _me(where: str, raw: Any, problems: list[str]) -> bool:
    if not isinstance(raw, bool):
        problems.append(
            f"{where}.me must be true (the signed-in person's own mailbox) or left out."
        )
        return False
    return raw


def _folder(where: str, raw: Any, problems: list[str]) -> str:
    if not isinstance(raw, str) or not raw.strip():
        problems.append(f"{where}.folder must be the contacts folder's name.")
        return ""
    if len(raw) > MAX_FOLDER_NAME or "/" in raw or "\\" in raw:
        problems.append(
            f"{where}.folder: a folder name has at most {MAX_FOLDER_NAME} characters and no / "
            "or \\."
        )
    return raw.strip()


def _states(where: str, raw: Any, problems: list[str]) -> frozenset[State]:
    allowed = sorted(s.value for s in ACTIONABLE_STATES)
    words = raw if isinstance(raw, list) else None
    if not words or not all(isinstance(w, str) for w in words):
        problems.append(f'{where}.states must be a list of {" and ".join(allowed)}, e.g. ["new"].')
        return ACTIONABLE_STATES
    unknown = sorted({w for w in words if w.casefold() not in allowed})
    if unknown:
        problems.append(
            f"{where}.states: {', '.join(unknown)} cannot be written; a target writes "
            f"{' and/or '.join(allowed)}."
        )
        return ACTIONABLE_STATES
    return frozenset(State(w.casefold()) for w in words)


def _schedule(where: str, raw: Any, problems: list[str]) -> str | None:
    if raw is None:
        return None
    text = raw.strip() if isinstance(raw, str) else ""
    if len(text.split()) != 5 or not croniter.is_valid(text):
        problems.append(
            f"{where}.schedule: {raw!r} is not a cron expression of five fields (minute hour "
            'day-of-month month day-of-week), e.g. "0 2 * * *" for 02:00 every day.'
        )
        return None
    return " ".join(text.split())


def _timezone(where: str, raw: Any, problems: list[str]) -> str | None:
    if raw is None:
        return None
    name = raw.strip() if isinstance(raw, str) else ""
    try:
        # ZoneInfo also reads a path-like key ("../etc/x") as a file: only names qualify.
        if not name or name.startswith("/") or ".." in name:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"{where}.timezone: {raw!r} is not a time zone; use an IANA name such as "
            '"Europe/London" or "UTC".'
        )
        return None
    return name
