"""Central's contacts from a CSV export (`CENTRAL365_CENTRAL=csv:PATH`).

This module owns the file-format side of an export only: encoding (UTF-8, with or without a
BOM), the dialect (sniffed: comma, semicolon or tab; excel otherwise), the header and its columns,
and the physical line each record starts on.  It turns rows into `CentralContact`s without
judging them: trimming, validation and deduplication are rules of the core.

`read()` checks the whole file before yielding anything, so a bad export is one `SourceError`
listing every problem; after that it streams row by row (a large export is never a list).  The
check is a second pass over the bytes, which keeps memory flat and lets the error name the first
line that is not UTF-8.

`write_csv` writes the same format back, for demos and tests.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

from central365.core.errors import SourceError
from central365.core.model import ADDRESS_PARTS, CANONICAL_COLUMNS, CentralContact, RowProblem
from central365.core.ports import SourceRows
from central365.sources.column_mapping import ColumnMapping, ColumnReport
from central365.sources.repeats import SharedValues, repeated_positions

_DELIMITERS = ",;\t"
_SAMPLE_CHARS = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the up-front check learnt: how to parse the file and where each column is."""

    dialect: type[csv.Dialect]
    width: int
    positions: Mapping[str, int]


class CsvSource:
    """A Central contacts export on disk; implements `ContactSource`."""

    def __init__(self, path: Path, *, mapping: ColumnMapping | None = None) -> None:
        self.path = path
        self.mapping = mapping or ColumnMapping()

    def __repr__(self) -> str:
        return f"CsvSource({str(self.path)!r})"

    def describe(self) -> str:
        return f"CSV file {self.path}"

    def read(self) -> Iterator[CentralContact | RowProblem]:
        """Check the file, then stream its records.

        Each well-formed row becomes a `CentralContact` whose `line` is the physical line the
        row starts on (the header is line 1); a row with the wrong number of fields becomes a
        `RowProblem` and reading goes on; blank lines are skipped.  The rows say which
        canonical columns the header has (`SourceRows.provided`).

        :raises SourceError: at once (before anything is yielded), naming every problem found:
            missing or unreadable file, bytes that are not UTF-8, no header, missing columns.
        """
        layout = self._check()
        return SourceRows(self._records(layout), layout.positions)

    # -- the up-front check ---------------------------------------------------------------

    def _check(self) -> _Layout:
        problems: list[str] = []
        if not self._check_file(problems):
            raise self._error(problems)
        bad = self._first_bad_byte()
        if bad is not None:
            line, offset, byte = bad
            problems.append(
                f"the file is not UTF-8: line {line} has the byte 0x{byte:02x} at "
                f"byte offset {offset} (re-export it as UTF-8)"
            )
        layout = self._check_header(problems)
        if problems or layout is None:
            raise self._error(problems)
        return layout

    def columns(self) -> ColumnReport:
        """Which canonical columns the export has, told without any of the file's content.

        For a person who may see *that* the export is usable but not what it holds (the web):
        the problems name lines, never a header name or a byte of the file.

        :raises SourceError: the file is missing or unreadable, not UTF-8, empty, or has no
            header row.
        """
        problems: list[str] = []
        if not self._check_file(problems):
            raise self._error(problems)
        bad = self._first_bad_byte()
        if bad is not None:
            problems.append(f"the file is not UTF-8 from line {bad[0]} (re-export it as UTF-8)")
        header = self._read_header(problems)
        if problems or header is None:
            raise self._error(problems)
        return self.mapping.report(header[1])

    def _check_file(self, problems: list[str]) -> bool:
        try:
            with self.path.open("rb") as handle:
                handle.read(1)
        except FileNotFoundError:
            problems.append(f"{self.path} does not exist")
        except IsADirectoryError:
            problems.append(f"{self.path} is a directory, not a CSV file")
        except PermissionError:
            problems.append(f"{self.path} cannot be read (permission denied)")
        except OSError as err:
            problems.append(f"{self.path} cannot be read ({err.strerror or err})")
        else:
            return True
        return False

    def _first_bad_byte(self) -> tuple[int, int, int] | None:
        """The first byte that is not UTF-8, if any: its line, byte offset and value.

        Decoding line by line is exact: no UTF-8 multi-byte sequence contains a newline byte.
        """
        offset = 0
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    return number, offset + err.start, raw[err.start]
                offset += len(raw)
        return None

    def _read_header(self, problems: list[str]) -> tuple[type[csv.Dialect], list[str]] | None:
        """The dialect and the header row; problems that name no content of the file."""
        # Bad bytes are reported apart; replacing them here lets the header still be checked,
        # so one error can say both "not UTF-8" and "column X is missing".
        with self.path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            sample = handle.read(_SAMPLE_CHARS)
            if not sample.strip():
                problems.append("the file is empty: expected a header row naming the columns")
                return None
            handle.seek(0)
            dialect = _sniff(sample)
            reader = csv.reader(handle, dialect)
            try:
                header = next((row for row in reader if not _is_blank(row)), None)
            except csv.Error as err:
                problems.append(f"the header row cannot be read as CSV: {err}")
                return None
        if header is None:
            problems.append("the file has no header row")
            return None
        return dialect, header

    def _check_header(self, problems: list[str]) -> _Layout | None:
        read = self._read_header(problems)
        if read is None:
            return None
        dialect, header = read
        found = self.mapping.match(header)
        problems.extend(found.problems)
        if found.problems:
            # The operator's own file, read by the CLI: its header helps fix the mapping.
            # `columns()` is what a web page uses instead.
            problems.append(f"the header row has: {', '.join(repr(n) for n in header)}")
        return _Layout(dialect=dialect, width=len(header), positions=found.positions)

    def _error(self, problems: Sequence[str]) -> SourceError:
        return SourceError(
            f"Cannot read Central's contacts from {self.describe()}: fix the problems below "
            "or point CENTRAL365_CENTRAL at another export.",
            problems=problems,
        )

    # -- streaming ------------------------------------------------------------------------

    def _records(self, layout: _Layout) -> Iterator[CentralContact | RowProblem]:
        # The row's fields in canonical order in one C call; a column the export lacks reads
        # the blank field appended at the row's end.
        pad = len(layout.positions) < len(CANONICAL_COLUMNS)
        pick = itemgetter(*(layout.positions.get(name, layout.width) for name in CANONICAL_COLUMNS))
        repeated, shared = repeated_positions(layout.positions), SharedValues()
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, layout.dialect)
            header_seen = False
            while True:
                # `line_num` counts physical lines read so far, so the line after the previous
                # record is where this one starts, even when earlier fields held newlines.
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as err:
                    yield RowProblem(line=start, message=f"row cannot be read as CSV: {err}")
                    continue
                except UnicodeDecodeError as err:
                    # The file changed since it was checked.
                    raise self._error([f"the file is not UTF-8 near line {start}: {err}"]) from err
                if not (row and row[0].strip()) and _is_blank(row):  # a first field says no
                    continue
                if not header_seen:
                    header_seen = True
                    continue
                if len(row) != layout.width:
                    yield RowProblem(
                        line=start,
                        message=f"row has {len(row)} fields, expected {layout.width}",
                    )
                    continue
                shared.share(row, repeated)
                if pad:
                    row.append("")
                yield CentralContact.from_values(pick(row), start)


def _is_blank(row: Sequence[str]) -> bool:
    """A blank line, or a line of empty fields (spreadsheets export those as `;;;;`)."""
    return not any(field.strip() for field in row)


def _sniff(sample: str) -> type[csv.Dialect]:
    """The dialect of an export, from its first lines.

    Only the delimiter and quote character are taken from `csv.Sniffer`: it guesses
    `doublequote=False` when the sample happens to hold no doubled quotes, which would misread a
    doubled quote (`""`) further down, and exports always double their quotes.
    """
    if len(sample) == _SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # never sniff half a line
    header_line = sample.split("\n", 1)[0]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
        delimiter, quotechar = sniffed.delimiter, sniffed.quotechar or '"'
    except csv.Error:
        delimiter, quotechar = ",", '"'
    if delimiter not in header_line:
        # The sniffer can be fooled by a sample dominated by one odd row; the header line is
        # the best witness of the delimiter when the sniffed one does not even occur in it.
        counts = {candidate: header_line.count(candidate) for candidate in _DELIMITERS}
        best = max(counts, key=lambda candidate: counts[candidate])
        if counts[best]:
            delimiter = best

    class ExportDialect(csv.excel):
        pass

    ExportDialect.delimiter = delimiter
    ExportDialect.quotechar = quotechar
    return ExportDialect


def contact_row(contact: CentralContact) -> dict[str, str]:
    """A record back as a row keyed by canonical column (the inverse of `from_row`)."""
    row = {
        "id": contact.key,
        "status": contact.status,
        "title": contact.title,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "mobile": contact.mobile,
        "telephone": contact.telephone,
        "website": contact.website,
    }
    for prefix, address in (("home", contact.home), ("business", contact.business)):
        for part in ADDRESS_PARTS:
            row[f"{prefix}_{part}"] = getattr(address, part.removeprefix("address_"))
    return row


def write_csv(
    path: Path,
    rows: Iterable[Mapping[str, object] | CentralContact],
    columns: Sequence[str] = CANONICAL_COLUMNS,
) -> None:
    """Write an export `CsvSource` reads back: UTF-8, comma-separated, header row first.

    Rows are mappings keyed by column name (missing keys and `None` are written blank) or
    `CentralContact`s.  Values are written as given, quoted where the csv module needs to.
    """
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            values = contact_row(row) if isinstance(row, CentralContact) else row
            writer.writerow([_text(values.get(column)) for column in columns])


def _text(value: object) -> str:
    return "" if value is None else str(value)
