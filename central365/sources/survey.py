"""A source's summary fit for someone who may not see its content: columns, counts, bad lines.

The web's *Test connection* and CSV uploads show this instead of the sources' own error
messages, which quote what they read (a header row, a table's columns, a driver's words) to help
the operator fix their own file.  A survey names columns by their canonical names, counts
records, and gives the line numbers of rows that could not be read — never their content.

Must not: put any text the source read into a `SourceSurvey`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from central365.core.errors import Central365Error
from central365.core.model import CentralContact, RowProblem
from central365.sources.column_mapping import ColumnReport

#: Bad lines a survey names one by one; beyond that it only counts them.
MAX_BAD_LINES = 20
#: Optional columns worth a word when no record fills them.
OPTIONAL_WITH_VALUES = ("title", "mobile", "telephone", "website")
#: What a survey says when reading stopped after its check passed (the file changed, the
#: connection dropped): the source's own message may quote content.
READING_STOPPED = "reading stopped before the end: try again, or check the source"


class Surveyable(Protocol):
    """A source that can tell its columns without its content (`CsvSource`, `SqlSource`)."""

    def columns(self) -> ColumnReport: ...

    def read(self) -> Iterator[CentralContact | RowProblem]: ...


@dataclass(frozen=True, slots=True)
class SourceSurvey:
    """What a survey found; `problems` says why the source cannot be used, if it cannot."""

    columns: ColumnReport | None = None
    records: int = 0
    active: int = 0
    bad_lines: tuple[int, ...] = ()
    bad_line_count: int = 0
    empty_columns: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and self.columns is not None and self.columns.usable


def survey(source: Surveyable) -> SourceSurvey:
    """Check the source's columns, then (when usable) count its records and unreadable rows."""
    try:
        columns = source.columns()
    except Central365Error as exc:
        return SourceSurvey(problems=exc.problems or (exc.message,))
    if not columns.usable:
        return SourceSurvey(columns=columns)
    records = active = bad_count = 0
    bad_lines: list[int] = []
    filled: set[str] = set()
    try:
        for row in source.read():
            if isinstance(row, RowProblem):
                bad_count += 1
                if len(bad_lines) < MAX_BAD_LINES:
                    bad_lines.append(row.line)
                continue
            records += 1
            active += row.status.strip().casefold() == "active"
            filled.update(c for c in OPTIONAL_WITH_VALUES if getattr(row, c))
    except Central365Error:
        return SourceSurvey(columns=columns, problems=(READING_STOPPED,))
    return SourceSurvey(
        columns=columns,
        records=records,
        active=active,
        bad_lines=tuple(bad_lines),
        bad_line_count=bad_count,
        empty_columns=tuple(c for c in OPTIONAL_WITH_VALUES if c not in filled),
    )
