"""A target: the set of mailboxes one sync writes into, and what it writes there (values only).

A target names its mailboxes either as a list (UPNs or object ids) or as one Entra group whose
members (transitive, users only) are looked up when the target runs; each mailbox gets the
target's folder and the records of the target's states.  `schedule` (a five-field cron
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

    Exactly one of `mailboxes` (non-empty) and `group` is set; `states` is a non-empty subset
    of new and update; `timezone` is set whenever `schedule` is.
    """

    name: str
    folder: str
    mailboxes: tuple[str, ...] = ()
    group: str | None = None
    states: frozenset[State] = ACTIONABLE_STATES
    schedule: str | None = None
    timezone: str | None = None

    def __post_init__(self) -> None:
        if bool(self.mailboxes) == (self.group is not None):
            raise ValueError("a target names its mailboxes or one group, not both or neither")
        if not self.states or self.states - ACTIONABLE_STATES:
            raise ValueError("a target writes the new records, the updates, or both")
        if self.schedule is not None and self.timezone is None:
            raise ValueError("a scheduled target needs its time zone")
