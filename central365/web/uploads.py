"""A Central export uploaded on the Settings page: received as a stream, capped, stored privately.

`receive_upload` reads a `multipart/form-data` body chunk by chunk and writes the file straight
into `<data_dir>/uploads/<random>.csv` (folder 0700, file 0600): the body is never held whole,
and the size cap (`upload_max_bytes`) is enforced as the bytes arrive — a declared
`Content-Length` over it is refused before anything is read.  The CSRF token must come before
the file (browsers send fields in the form's order; the page puts it first) or in the
`X-CSRF-Token` header, so nothing is written for a forged request.

`UploadFolder` owns the folder: new names, the check that a path is one of its uploads, and
deleting a replaced upload.  `text_problem` refuses what is not a text export at all (binary,
not UTF-8, empty) before the sources' survey looks at its columns.

Must not: keep any upload but the one the stored settings name (replaced ones are deleted),
or echo the file's content in a message.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from central365.web.errors import CsrfRefused
from central365.web.security import CSRF_FIELD, CSRF_HEADER, tokens_match

FILE_FIELD = "central_csv"
#: Room for the multipart framing and the small fields around the file.
FRAMING_ALLOWANCE = 16 * 1024
_SMALL_FIELD_MAX = 1024
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.csv$")
_CHECK_CHUNK = 64 * 1024


class UploadRefused(Exception):
    """The upload cannot be used; `problem` is one sentence for the file field."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Received:
    """An upload written to disk: where, what the browser called it, how many bytes."""

    path: Path
    filename: str
    size: int


class UploadFolder:
    """`<data_dir>/uploads`: private, one random name per upload."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(os.path.realpath(data_dir)) / "uploads"

    def ensure(self) -> Path:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path.chmod(0o700)
        return self.path

    def new_file(self) -> tuple[Path, int]:
        """A new upload's path and an open descriptor (0600, never an existing file)."""
        path = self.ensure() / f"{secrets.token_hex(16)}.csv"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        return path, os.open(path, flags, 0o600)

    def holds(self, path: Path) -> bool:
        """Is `path` one of this folder's uploads (by its real path and name)?"""
        real = Path(os.path.realpath(path))
        return real.parent == self.path and bool(_UPLOAD_NAME.match(real.name))

    def delete(self, path: Path) -> None:
        """Delete `path` if it is one of the uploads; anything else is left alone."""
        if self.holds(path):
            Path(os.path.realpath(path)).unlink(missing_ok=True)


def _size_problem(limit: int) -> str:
    mib = limit / (1024 * 1024)
    size = f"{mib:.0f} MiB" if mib >= 1 else f"{limit} bytes"
    return (
        f"The file is larger than this server takes ({size}): split the export or ask the operator."
    )


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    small: bytearray = field(default_factory=bytearray)


@dataclass
class _Reception:
    """The parser's callbacks: small fields kept in memory, the file's bytes queued to disk."""

    csrf_expected: str
    csrf_ok: bool
    limit: int
    open_file: Callable[[], tuple[Path, int]]
    part: _Part = field(default_factory=_Part)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[str, str] = field(default_factory=dict)
    pending: list[bytes] = field(default_factory=list)
    file: tuple[Path, int] | None = None
    receiving: bool = False  # inside the (first) file part: later file parts are ignored
    filename: str = ""
    size: int = 0
    problem: str | None = None
    csrf_refused: bool = False

    def on_part_begin(self) -> None:
        self.part = _Part()
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self.header_field.decode("latin-1").casefold()
        self.headers[name] = self.header_value.decode("latin-1")
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", ""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        self.part.filename = (
            None if raw_filename is None else raw_filename.decode("utf-8", "replace")
        )
        if self.part.name == FILE_FIELD and self.part.filename is not None:
            if not self.csrf_ok:
                self.csrf_refused = True
            elif self.file is None:
                self.file = self.open_file()
                self.receiving = True
                self.filename = os.path.basename(self.part.filename.replace("\\", "/"))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.name == FILE_FIELD and self.part.filename is not None:
            if not self.receiving:
                return
            self.size += end - start
            if self.size > self.limit:
                self.problem = _size_problem(self.limit)
                return
            self.pending.append(data[start:end])
        elif len(self.part.small) < _SMALL_FIELD_MAX:
            self.part.small += data[start:end]

    def on_part_end(self) -> None:
        self.receiving = False
        if self.part.name == CSRF_FIELD and self.part.filename is None:
            submitted = self.part.small.decode("utf-8", "replace")
            self.csrf_ok = self.csrf_ok or tokens_match(self.csrf_expected, submitted)

    @property
    def stop(self) -> bool:
        return self.csrf_refused or self.problem is not None


def _write_all(descriptor: int, chunks: list[bytes]) -> None:
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]


async def receive_upload(
    request: Request, folder: UploadFolder, *, limit: int, csrf_expected: str
) -> Received:
    """Stream the request's file field into a new upload.

    :raises CsrfRefused: the session's token did not come before the file.
    :raises UploadRefused: not a multipart form with a file, or larger than `limit` bytes
        (nothing of it is kept).
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRefused("Choose a CSV file to upload.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FRAMING_ALLOWANCE:
        raise UploadRefused(_size_problem(limit))
    header_token = request.headers.get(CSRF_HEADER, "")
    reception = _Reception(
        csrf_expected=csrf_expected,
        csrf_ok=bool(header_token) and tokens_match(csrf_expected, header_token),
        limit=limit,
        open_file=folder.new_file,
    )
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": reception.on_part_begin,
            "on_part_data": reception.on_part_data,
            "on_part_end": reception.on_part_end,
            "on_header_field": reception.on_header_field,
            "on_header_value": reception.on_header_value,
            "on_header_end": reception.on_header_end,
            "on_headers_finished": reception.on_headers_finished,
        },
    )
    try:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + FRAMING_ALLOWANCE:
                reception.problem = _size_problem(limit)
            if not reception.stop:
                parser.write(chunk)
            if reception.stop:
                break
            if reception.file is not None and reception.pending:
                chunks, reception.pending = reception.pending, []
                await run_in_threadpool(_write_all, reception.file[1], chunks)
        if not reception.stop:
            parser.finalize()
            if reception.file is not None and reception.pending:
                await run_in_threadpool(_write_all, reception.file[1], reception.pending)
    except FormParserError:
        _discard(reception)
        raise UploadRefused(
            "The upload could not be read: choose the file and send it again."
        ) from None
    except Exception:
        _discard(reception)
        raise
    finally:
        if reception.file is not None:
            os.close(reception.file[1])
    if reception.csrf_refused or (reception.file is None and not reception.csrf_ok):
        _discard(reception)
        raise CsrfRefused(
            "This form has expired or did not come from central365 (the security token is "
            "missing or wrong): reload the page and try again."
        )
    if reception.problem is not None:
        _discard(reception)
        raise UploadRefused(reception.problem)
    if reception.file is None or reception.size == 0:
        _discard(reception)
        raise UploadRefused("Choose a CSV file to upload: the file sent was empty.")
    return Received(reception.file[0], reception.filename, reception.size)


def _discard(reception: _Reception) -> None:
    if reception.file is not None:
        reception.file[0].unlink(missing_ok=True)


def text_problem(path: Path) -> str | None:
    """Why the file is not a text export at all (binary, not UTF-8), or None."""
    line = 1
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHECK_CHUNK):
            if b"\0" in chunk:
                return "This is not a CSV export (it holds binary data): export Central as CSV."
            data = tail + chunk
            try:
                data.decode("utf-8")
                tail = b""
            except UnicodeDecodeError as err:
                if err.end == len(data) and len(data) - err.start < 4:  # cut mid-character
                    tail = data[err.start :]
                    data = data[: err.start]
                else:
                    line += data[: err.start].count(b"\n")
                    return (
                        f"The file is not UTF-8 text (from line {line}): export it from Central "
                        "as CSV in UTF-8."
                    )
            line += data.count(b"\n")
    if tail:
        return f"The file is not UTF-8 text (from line {line}): export it from Central as CSV in UTF-8."
    return None
