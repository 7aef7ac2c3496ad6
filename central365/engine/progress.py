"""How far a plan being made has got, for a front end that shows it while it is made.

A plan of a million records takes seconds to read and to decide; the homepage makes it off the
request thread and shows these counters meanwhile (issue 11 §4: the page stays responsive).
The service writes them as it goes; any thread may read them (each is one int or one enum,
assigned whole).

Owns: the counters.  Must not: know who reads them, or wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PlanStage(StrEnum):
    """Where a plan being made is.  The values are the stable codes of `/api/plan/progress`."""

    READING = "reading"
    PLANNING = "planning"
    DONE = "done"


#: How often the counters move: every this many records or contacts.
PROGRESS_STEP = 10_000


@dataclass(slots=True)
class PlanProgress:
    """Central records and folder contacts read so far, and records decided of `records`."""

    stage: PlanStage = PlanStage.READING
    records_read: int = 0
    contacts_read: int = 0
    #: Active Central records decided so far, of `records` (known once Central is read).
    planned: int = 0
    records: int | None = None
