"""Which of Central's columns repeat the same few values, so a source keeps one string each.

A large Central holds a million rows but a handful of statuses and titles, some thousands of
towns, counties, countries and postcodes.  Every row read from a file or a database brings its
own copy of each (about 60 bytes a value), so a source shares the values of these columns
(`SharedValues`) and a million-record plan keeps one "active" and one "Leeds" instead of a
million of each.
"""

from __future__ import annotations

from collections.abc import Mapping

from central365.core.model import ADDRESS_PARTS

#: The canonical columns whose values are mostly repeats of a few.
REPEATED_COLUMNS: tuple[str, ...] = (
    "status",
    "title",
    *(
        f"{place}_{part}"
        for place in ("home", "business")
        for part in ADDRESS_PARTS
        if part in ("town", "county", "country", "postcode")
    ),
)


def repeated_positions(positions: Mapping[str, int]) -> tuple[int, ...]:
    """Where a source's row holds the repeated columns it has (`positions`: canonical → index)."""
    return tuple(dict.fromkeys(positions[c] for c in REPEATED_COLUMNS if c in positions))


#: Distinct values one read shares at most: a column of unique values (or a hostile file) costs
#: a table of this size, not an entry a row, and streaming stays flat.
SHARED_LIMIT = 8192


class SharedValues:
    """One string per distinct value seen during one read, for the first `limit` values."""

    __slots__ = ("_known", "_limit")

    def __init__(self, limit: int = SHARED_LIMIT) -> None:
        self._known: dict[str, str] = {}
        self._limit = limit

    def share(self, row: list[str], positions: tuple[int, ...]) -> None:
        """Replace the values at `positions` of `row` by the string already held for them."""
        known = self._known
        for index in positions:
            value = row[index]
            held = known.get(value)
            if held is not None:
                row[index] = held
            elif len(known) < self._limit:
                known[value] = value
