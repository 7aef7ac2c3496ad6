"""Files and folders only the account running central365 may open: files 0600, folders 0700.

What central365 writes holds secrets or personal data (the application database with its
sealed secrets, token caches and run outcomes; the demo's settings file with a client secret;
uploaded Central exports), so the modes are set explicitly with `chmod`, never left to the
process's umask (a umask of 022, the usual default, would make them world-readable).

Only folders this module creates are made 0700: one that already exists (the current folder,
`/tmp`, a shared data volume) keeps its mode, which belongs to whoever made it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """Create `path` and its missing parents as 0700 folders; returns `path`."""
    missing: list[Path] = []
    candidate = path
    while not candidate.exists() and candidate != candidate.parent:
        missing.append(candidate)
        candidate = candidate.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:  # made by another process or thread meanwhile: theirs
            continue
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is filtered by the umask
    return path


def create_private_file(path: Path) -> None:
    """Make sure `path` exists as a 0600 file (an existing file is restricted, kept as is)."""
    private_folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def restrict(path: Path) -> None:
    """Make an existing file 0600; a file that is not there (yet) is left alone."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, FILE_MODE)


def write_private_text(path: Path, text: str) -> None:
    """Write `text` to `path` as a 0600 file, atomically (a reader never sees half of it)."""
    private_folder(path.parent)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # an older .tmp left with another mode, or the umask
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
