"""The Schedules page's words for a schedule: its cron in a sentence, its times in its zone.

`cron_in_words("0 2 * * *", "Europe/London")` is "At 02:00, Europe/London time" (by
cron-descriptor, 24-hour clock); an expression it cannot describe is shown as written.
Pure: no clock (the caller gives the time to show).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cron_descriptor import ExpressionDescriptor, Options


def cron_in_words(cron: str, timezone: str) -> str:
    """The schedule as a sentence, with the zone its times are in."""
    options = Options()
    options.use_24hour_time_format = True
    options.verbose = False
    try:
        words = ExpressionDescriptor(cron, options).get_description()
    except Exception:  # its own exception types vary by version: the cron itself then
        words = f"At the times of “{cron}”"
    return f"{words}, {timezone} time"


def local_time(moment: datetime, timezone: str) -> str:
    """A UTC moment as the schedule's zone reads it: "Thu 3 Dec 2026, 02:00 GMT"."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname() or timezone}"
