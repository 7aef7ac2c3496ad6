"""Which Central sources the Settings page may name: an upload, the import folder, allowed hosts.

The CLI's `central365.toml` is the operator's own file and may name any path or database; a
Central URL typed on the web must not turn the server into a file reader or a port scanner:

- `csv:PATH` only for a file inside the import folder (`CENTRAL365_IMPORT_DIR`, symlinks
  resolved first, relative paths taken from that folder) with a CSV-like suffix, or for the
  stored upload in `<data_dir>/uploads`.  Nothing in the data folder (secret key, application
  database, other uploads) is ever allowed, wherever the import folder is.
- `sqlite:///PATH` only for a database file inside the import folder, never the app's own.
- Any other database URL only for a host in `CENTRAL365_CENTRAL_HOSTS` (default: the start-up
  Central URL's host and loopback), of a known kind, with no query parameter beyond a few
  harmless ones (libpq's `host=`, `passfile=`, `sslkey=`, MySQL's `read_default_file=` … would
  name another host or a server file).
- The operator's own start-up Central URL is always allowed as it is.

Every refusal of a path outside the allowed places is the same sentence, whether the file
exists or not.  Must not: read a file or open a connection (it only resolves paths).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from central365.config import Settings, normal_host

CSV_PREFIX = "csv:"
MAX_CONNECT_TIMEOUT_S = 60
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
SQLITE_SUFFIXES = frozenset({".db", ".sqlite", ".sqlite3"})
KNOWN_BACKENDS = frozenset({"postgresql", "mysql", "mariadb", "mssql", "oracle", "sqlite"})
#: Query parameters that change neither the host reached nor a file read on this server.
HARMLESS_PARAMETERS = frozenset(
    {
        "sslmode",
        "connect_timeout",
        "application_name",
        "charset",
        "client_encoding",
        "driver",
        "encrypt",
        "trustservercertificate",
        "password",
        "sslpassword",  # the passphrase of an sslkey file, which is not allowed
    }
)
OUTSIDE = (
    "The web can read a CSV export only from an upload or from the import folder the server's "
    "operator set up: upload the export, or choose one of the import folder's files."
)
SQLITE_OUTSIDE = (
    "The web can read an SQLite database only from the import folder the server's operator "
    "set up: name a .db, .sqlite or .sqlite3 file there."
)
NO_IMPORT_DIR = (
    "This server has no import folder: upload the export instead "
    "(the server's operator can set one up)."
)


@dataclass(frozen=True, slots=True)
class Allowed:
    """A Central URL the web may use, as it should be stored (paths made absolute)."""

    url: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Why the web may not use a Central URL: one sentence for the form's field."""

    problem: str


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _is_database_file(path: Path, database: Path) -> bool:
    """The application database, or its -wal, -shm or -journal companion."""
    return path.parent == database.parent and path.name.startswith(database.name)


def _parameter_value_problem(parsed: URL) -> str | None:
    """The harmless parameters' values that are not: an ODBC driver named by its file path
    (unixODBC would load that library), a connect timeout that would hold a worker long."""
    for key, value in parsed.query.items():
        values = value if isinstance(value, tuple) else (value,)
        if key.casefold() == "driver" and any("/" in v or "\\" in v for v in values):
            return "Name the ODBC driver by its registered name, not by a file path."
        if key.casefold() == "connect_timeout" and not all(
            v.isdigit() and 1 <= int(v) <= MAX_CONNECT_TIMEOUT_S for v in values
        ):
            return f"connect_timeout is a number of seconds from 1 to {MAX_CONNECT_TIMEOUT_S}."
    return None


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """The places and hosts the Settings page may take Central from (built from `Settings`)."""

    import_dir: Path | None
    data_dir: Path
    uploads_dir: Path
    app_database: Path | None
    allowed_hosts: frozenset[str]
    startup_central: str | None

    @classmethod
    def of(cls, settings: Settings) -> SourcePolicy:
        data_dir = Path(os.path.realpath(settings.data_dir))
        database: Path | None = None
        app_url = settings.app_database_url
        if app_url.startswith("sqlite") and "///" in app_url:
            database = Path(os.path.realpath(app_url.split("///", 1)[1].split("?", 1)[0]))
        return cls(
            import_dir=Path(os.path.realpath(settings.import_dir)) if settings.import_dir else None,
            data_dir=data_dir,
            uploads_dir=data_dir / "uploads",
            app_database=database,
            allowed_hosts=settings.allowed_central_hosts,
            startup_central=settings.central,
        )

    # -- the import folder ------------------------------------------------------------------

    def import_files(self) -> list[str]:
        """The names of the CSV exports directly inside the import folder, sorted."""
        return sorted(name for name, _ in self._import_entries())

    def import_url(self, name: str) -> str | None:
        """`csv:` URL of the import folder's file `name` (None unless it is one of them)."""
        found = dict(self._import_entries())
        return f"{CSV_PREFIX}{found[name]}" if name in found else None

    def _import_entries(self) -> Iterator[tuple[str, Path]]:
        if self.import_dir is None:
            return
        try:
            entries = list(os.scandir(self.import_dir))
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            real = self._allowed_file(Path(entry.path), CSV_SUFFIXES)
            if real is not None:
                yield entry.name, real

    def _allowed_file(self, path: Path, suffixes: frozenset[str]) -> Path | None:
        """The file's real path when it is inside the import folder and may be read, else None."""
        if self.import_dir is None:
            return None
        real = Path(os.path.realpath(path))
        if not _inside(real, self.import_dir) or _inside(real, self.data_dir):
            return None
        database = self.app_database
        if database is not None and _is_database_file(real, database):
            return None
        if real.suffix.casefold() not in suffixes or not real.is_file():
            return None
        return real

    # -- checking a URL ---------------------------------------------------------------------

    def check(self, url: str, stored_url: str) -> Allowed | Refused:
        """May the web use `url` (the form's Central URL)?  `stored_url` is the stored one."""
        url = url.strip()
        if self.startup_central is not None and url == self.startup_central.strip():
            return Allowed(url)
        if url.casefold().startswith(CSV_PREFIX):
            return self._check_csv(url[len(CSV_PREFIX) :].strip(), stored_url)
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            return Refused(
                "This database URL cannot be read: write it as "
                "postgresql+psycopg://user:password@host/database."
            )
        return self._check_database(parsed, url)

    def _check_csv(self, raw: str, stored_url: str) -> Allowed | Refused:
        upload = self.stored_upload(stored_url)
        if upload is not None and Path(os.path.realpath(raw)) == upload:
            return Allowed(f"{CSV_PREFIX}{upload}")
        if self.import_dir is None:
            return Refused(NO_IMPORT_DIR)
        path = Path(raw).expanduser()
        real = self._allowed_file(
            path if path.is_absolute() else self.import_dir / path, CSV_SUFFIXES
        )
        if real is None:
            return Refused(OUTSIDE)
        return Allowed(f"{CSV_PREFIX}{real}")

    def stored_upload(self, stored_url: str) -> Path | None:
        """The stored Central URL's file when it is an upload (its real path)."""
        if not stored_url.casefold().startswith(CSV_PREFIX):
            return None
        real = Path(os.path.realpath(stored_url[len(CSV_PREFIX) :].strip()))
        return real if real.parent == self.uploads_dir and real.is_file() else None

    def _check_database(self, parsed: URL, url: str) -> Allowed | Refused:
        backend = parsed.get_backend_name()
        if backend not in KNOWN_BACKENDS:
            return Refused(
                "Central can be read from PostgreSQL, MySQL or MariaDB, SQL Server, Oracle, or "
                "an SQLite file in the import folder: use one of those URLs."
            )
        if backend == "sqlite":
            return self._check_sqlite(parsed)
        unknown = sorted(k for k in parsed.query if k.casefold() not in HARMLESS_PARAMETERS)
        if unknown:
            return Refused(
                f"The web does not take the URL's parameter {unknown[0]!r}: leave it out "
                f"(allowed: {', '.join(sorted(HARMLESS_PARAMETERS))})."
            )
        problem = _parameter_value_problem(parsed)
        if problem:
            return Refused(problem)
        host = normal_host(parsed.host or "")
        if not host or host not in self.allowed_hosts:
            return Refused(
                "Central's database may only be on one of these hosts: "
                f"{', '.join(sorted(self.allowed_hosts))} (the server's operator sets the list)."
            )
        return Allowed(url)

    def _check_sqlite(self, parsed: URL) -> Allowed | Refused:
        database = parsed.database or ""
        if self.import_dir is None:
            return Refused(NO_IMPORT_DIR)
        if parsed.query or not database or database == ":memory:" or database.startswith("file:"):
            return Refused(SQLITE_OUTSIDE)
        path = Path(database).expanduser()
        real = self._allowed_file(
            path if path.is_absolute() else self.import_dir / path, SQLITE_SUFFIXES
        )
        if real is None:
            return Refused(SQLITE_OUTSIDE)
        return Allowed(parsed.set(database=str(real)).render_as_string(hide_password=False))
