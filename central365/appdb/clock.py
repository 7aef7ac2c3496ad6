"""The clock (`Now`) the repositories stamp rows with: timezone-aware UTC, injectable in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Now = Callable[[], datetime]
"""Gives the current time; repositories take one so tests can stop the clock."""


def utc_now() -> datetime:
    return datetime.now(UTC)
