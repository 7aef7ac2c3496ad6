"""A target: the set of mailboxes one sync writes into, and what it writes there (values only).

A target names its mailboxes either as a list (UPNs or object ids), as one Entra group whose
members (transitive, users only) are looked up when the target runs, or as the signed-in
person (`me`: today's delegated mode, the one mailbox of whoever signs in); each mailbox gets
the target's folder and the records of the target's states.  `schedule` (a five-field cron
expression) and `timezone` say when it runs unattended; nothing here runs it.

Must not: validate against the clock, the time-zone database or the network — the settings
(`wiring.target_checks`) do that once, at the edge, and hand the core a checked value.
"""

from __future__ import annotations

from dataclasses import dataclass

from central365.core.model import ACTIONABLE_STATES, State


@dataclass(frozen=True, slots=True)
class SyncTarget:
    """One target of `central365.toml` (`[targets.NAME]`), checked.

    Exactly one of `mailboxes` (non-empty), `group` and `me` is set; `states` is a non-empty
    subset of new and update; `timezone` is set whenever `schedule` is; a target of the
    signed-in person has no schedule (nobody signs in for an unattended run).
    """

    name: str
    folder: str
    mailboxes: tuple[str, ...] = ()
    group: str | None = None
    states: frozenset[State] = ACTIONABLE_STATES
    schedule: str | None = None
    timezone: str | None = None
    me: bool = False

    def __post_init__(self) -> None:
        if [bool(self.mailboxes), self.group is not None, self.me].count(True) != 1:
            raise ValueError(
                "a target names its mailboxes, one group or the signed-in person: exactly one"
            )
        if self.me and self.schedule is not None:
            raise ValueError("a target of the signed-in person runs only when they run it")
        if not self.states or self.states - ACTIONABLE_STATES:
            raise ValueError("a target writes the new records, the updates, or both")
        if self.schedule is not None and self.timezone is None:
            raise ValueError("a scheduled target needs its time zone")
