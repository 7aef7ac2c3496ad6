"""Which column of a real export or table holds each canonical Central column.

This module owns the optional mapping file (TOML, path in `CENTRAL365_CENTRAL_MAPPING`) and the
one rule both sources use to find their columns, so a CSV header and a SQL table are matched the
same way:

    [columns]
    id = "ContactID"
    first_name = "Forename"

Canonical names not listed map to themselves.  Matching a source name against the names a source
actually has is exact first, then case-insensitive with surrounding whitespace ignored.

It does no I/O beyond reading the mapping file, and knows nothing about CSV or SQL.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from central365.core.errors import ConfigError
from central365.core.model import CANONICAL_COLUMNS, REQUIRED_COLUMNS


def _fold(name: str) -> str:
    return name.strip().casefold()


@dataclass(frozen=True, slots=True)
class ColumnMatch:
    """The result of matching the canonical columns against the names a source has.

    `positions` maps each canonical column found to the index of its source column; `problems`
    lists every required column that is missing or ambiguous, in words for a person.
    """

    positions: Mapping[str, int]
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ColumnReport:
    """Which canonical columns a source has, named only by canonical names and the mapping.

    Unlike `ColumnMatch.problems` it holds no name the source itself spells, so it can be shown
    to someone who may not see the source's content (the web's Test connection and uploads).
    `labels` names every canonical column as a message does (`'Surname' (mapped from …)`).
    """

    found: tuple[str, ...]
    missing: tuple[str, ...]
    ambiguous: tuple[str, ...]
    labels: Mapping[str, str]

    @property
    def missing_required(self) -> tuple[str, ...]:
        return tuple(c for c in self.missing if c in REQUIRED_COLUMNS)

    @property
    def usable(self) -> bool:
        """Every required column is there, once."""
        return not self.missing_required and not (set(self.ambiguous) & set(REQUIRED_COLUMNS))


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Canonical column name → the name the source uses (only the renamed ones are stored)."""

    renames: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    origin: Path | None = None

    def source_name(self, canonical: str) -> str:
        """The name to look for in the source for `canonical`."""
        return self.renames.get(canonical, canonical)

    def label(self, canonical: str) -> str:
        """How to name a column in a message: the source's name, and the canonical one if mapped."""
        name = self.source_name(canonical)
        if name == canonical:
            return f"'{name}'"
        return f"'{name}' (mapped from '{canonical}')"

    def match(self, available: Sequence[str]) -> ColumnMatch:
        """Find every canonical column in `available` (a header row, a table's columns).

        Optional columns that are absent are simply left out of `positions`; required ones that
        are absent, and any wanted name that two source columns share, become problems.
        """
        positions: dict[str, int] = {}
        problems: list[str] = []
        for canonical, candidates in self._candidates(available).items():
            if len(candidates) == 1:
                positions[canonical] = candidates[0]
            elif len(candidates) > 1:
                names = ", ".join(repr(available[i]) for i in candidates)
                problems.append(f"column {self.label(canonical)} is ambiguous: it matches {names}")
            elif canonical in REQUIRED_COLUMNS:
                problems.append(f"required column {self.label(canonical)} is missing")
        return ColumnMatch(positions=MappingProxyType(positions), problems=tuple(problems))

    def report(self, available: Sequence[str]) -> ColumnReport:
        """What `match` finds, told without repeating any of the names in `available`."""
        candidates = self._candidates(available)
        return ColumnReport(
            found=tuple(c for c, found in candidates.items() if len(found) == 1),
            missing=tuple(c for c, found in candidates.items() if not found),
            ambiguous=tuple(c for c, found in candidates.items() if len(found) > 1),
            labels=MappingProxyType({c: self.label(c) for c in CANONICAL_COLUMNS}),
        )

    def _candidates(self, available: Sequence[str]) -> dict[str, list[int]]:
        """Each canonical column's matching positions: exact first, else loosely."""
        exact: dict[str, list[int]] = {}
        folded: dict[str, list[int]] = {}
        for index, name in enumerate(available):
            exact.setdefault(name, []).append(index)
            folded.setdefault(_fold(name), []).append(index)
        return {
            canonical: exact.get(self.source_name(canonical))
            or folded.get(_fold(self.source_name(canonical)), [])
            for canonical in CANONICAL_COLUMNS
        }


def load_mapping(path: Path) -> ColumnMapping:
    """Read and check a mapping file.

    :raises ConfigError: listing every problem (file missing or unreadable, not TOML, no
        `[columns]` table, an unknown canonical name, a value that is not a non-empty string).
    """
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        problems = [f"mapping file {path} does not exist"]
    except IsADirectoryError:
        problems = [f"mapping file {path} is a directory, not a file"]
    except PermissionError:
        problems = [f"mapping file {path} cannot be read (permission denied)"]
    except OSError as err:
        problems = [f"mapping file {path} cannot be read ({err.strerror or err})"]
    except UnicodeDecodeError as err:
        problems = [f"mapping file {path} is not UTF-8 (bad byte at offset {err.start})"]
    except tomllib.TOMLDecodeError as err:
        problems = [f"mapping file {path} is not valid TOML: {err}"]
    else:
        renames, problems = _check_document(document, path)
        if not problems:
            return ColumnMapping(renames=MappingProxyType(renames), origin=path)
    raise ConfigError(
        "The column mapping file (CENTRAL365_CENTRAL_MAPPING) cannot be used: "
        "fix the problems below or unset it.",
        problems=problems,
    )


def _check_document(document: Mapping[str, object], path: Path) -> tuple[dict[str, str], list[str]]:
    problems: list[str] = []
    for key in document:
        if key != "columns":
            problems.append(f"{path}: unknown table or key '{key}' (only [columns] is read)")
    columns = document.get("columns")
    if columns is None:
        problems.append(f'{path}: no [columns] table (e.g. [columns] id = "ContactID")')
        return {}, problems
    if not isinstance(columns, dict):
        problems.append(f"{path}: 'columns' must be a table of canonical name = source name")
        return {}, problems

    renames: dict[str, str] = {}
    known = ", ".join(CANONICAL_COLUMNS)
    for canonical, source in columns.items():
        if canonical not in CANONICAL_COLUMNS:
            problems.append(
                f"{path}: [columns] maps unknown column '{canonical}' (known columns: {known})"
            )
        elif not isinstance(source, str) or not source.strip():
            problems.append(
                f"{path}: [columns] {canonical} must be the source column's name as a "
                f"non-empty string, not {source!r}"
            )
        else:
            renames[canonical] = source
    return renames, problems
