"""Where Central's contacts come from: the registry from a source spec to an adapter.

The spec is the value of `CENTRAL365_CENTRAL`:

- `csv:PATH`: a Central contacts export (`CsvSource`);
- anything with `://`: a SQLAlchemy database URL, read from a table or view (`SqlSource`).

`open_source` builds the adapter and loads the optional column mapping; it does no I/O on the
source itself (that happens, and is checked, in `read()`), and builds nothing at import time.
"""

from __future__ import annotations

from pathlib import Path

from central365.core.errors import ConfigError
from central365.core.ports import ContactSource
from central365.sources.column_mapping import ColumnMapping, ColumnMatch, ColumnReport, load_mapping
from central365.sources.csv_source import CsvSource, contact_row, write_csv
from central365.sources.redact import mask_secrets
from central365.sources.sql_source import SqlSource

__all__ = [
    "ColumnMapping",
    "ColumnMatch",
    "ColumnReport",
    "CsvSource",
    "SqlSource",
    "contact_row",
    "load_mapping",
    "mask_secrets",
    "open_source",
    "write_csv",
]

_CSV_PREFIX = "csv:"
_FORMS = "csv:PATH for an export, or a database URL such as sqlite:///PATH"


def open_source(
    spec: str,
    *,
    table: str = "contacts",
    mapping_path: Path | None = None,
    mapping: ColumnMapping | None = None,
    page_size: int = 1000,
) -> ContactSource:
    """The source `spec` names.

    :param spec: `csv:PATH` or a SQLAlchemy URL (`sqlite:///…`, `postgresql+psycopg://…`, …).
    :param table: the table or view for a database source (`schema.table` allowed); unused
        for CSV.
    :param mapping_path: a TOML file mapping canonical column names to the source's names.
    :param mapping: the mapping itself (the web app keeps it in its database); it wins over
        `mapping_path`.
    :param page_size: rows a database source fetches at a time.
    :raises ConfigError: the spec is blank or of no known form, or the mapping file is bad.
    :raises SourceError: a database URL that cannot be parsed, or a blank table name.
    """
    spec = spec.strip()
    if not spec:
        raise ConfigError(
            "CENTRAL365_CENTRAL is not set: set it to where Central's contacts are.",
            problems=[f"expected {_FORMS}"],
        )
    is_csv = spec.casefold().startswith(_CSV_PREFIX)
    if not is_csv and "://" not in spec:
        hint = f" (did you mean csv:{spec}?)" if spec.casefold().endswith(".csv") else ""
        raise ConfigError(
            f"CENTRAL365_CENTRAL is not a source central365 can read: set it to {_FORMS}.",
            problems=[f"{mask_secrets(spec)!r} is neither csv:PATH nor a database URL{hint}"],
        )
    if is_csv and not spec[len(_CSV_PREFIX) :].strip():
        raise ConfigError(
            "CENTRAL365_CENTRAL says csv: but names no file: set it to csv:PATH.",
            problems=["the path after csv: is blank"],
        )

    if mapping is None:
        mapping = load_mapping(mapping_path) if mapping_path is not None else ColumnMapping()
    if is_csv:
        path = Path(spec[len(_CSV_PREFIX) :].strip()).expanduser()
        return CsvSource(path, mapping=mapping)
    return SqlSource(spec, table=table, mapping=mapping, page_size=page_size)
