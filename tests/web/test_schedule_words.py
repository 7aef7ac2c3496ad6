"""A schedule in words: cron-descriptor's sentence with the zone; never an error."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from central365.web.schedule_words import cron_in_words, local_time


def test_common_schedules_read_as_sentences() -> None:
    assert cron_in_words("0 2 * * *", "Europe/London") == "At 02:00, Europe/London time"
    assert cron_in_words("30 6 * * 1-5", "UTC") == "At 06:30, Monday through Friday, UTC time"
    assert cron_in_words("*/15 * * * *", "UTC") == "Every 15 minutes, UTC time"


def test_the_next_run_reads_in_the_schedules_zone() -> None:
    summer = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    assert local_time(summer, "Europe/London") == "Wed 1 Jul 2026, 02:00 BST"
    winter = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    assert local_time(winter, "Europe/London") == "Thu 3 Dec 2026, 02:00 GMT"


@given(st.text(max_size=30))
def test_anything_is_shown_never_raised(cron: str) -> None:
    assert cron_in_words(cron, "UTC").endswith(", UTC time")
