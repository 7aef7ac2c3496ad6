"""The errors central365 raises on purpose, and what each one means to a user.

    Central365Error                 base; `str(err)` is one sentence a user can act on
    ├── ConfigError                 settings are wrong; carries every problem found (`problems`)
    ├── SourceError                 Central cannot be read (file, columns, table, database); `problems`
    ├── MassChangeRefused           a sync tripped a guard against mass changes; `guards`
    └── GraphError                  Microsoft Graph (or the sandbox) refused or failed; `status`, `code`
        ├── Throttled               429 / 503 / 504 / ErrorTooManyObjectsOpened after every retry
        ├── AuthFailed              401 / 403, or a token could not be acquired
        ├── NotFound                404 ErrorItemNotFound and friends
        ├── Conflict                409 / 412, and two folders sharing the configured name
        └── OutcomeUnknown          a write was sent but no answer came back

Only `central365.graph.errors` turns HTTP statuses and OData codes into these; everything above it
tests identity (`except NotFound`), never status numbers.  The CLI and the web app each have one
translator from these types to messages and exit codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from central365.core.model import Guard


class Central365Error(Exception):
    """Base of every error central365 raises on purpose."""

    def __init__(self, message: str, *, problems: Iterable[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def full_message(self) -> str:
        """The message followed by every problem, one per line (for humans)."""
        if not self.problems:
            return self.message
        lines = [self.message, *(f"  - {p}" for p in self.problems)]
        return "\n".join(lines)


class ConfigError(Central365Error):
    """The settings are incomplete or contradict each other; `problems` lists all of them."""


class SourceError(Central365Error):
    """Central's contacts cannot be read at all (a single bad row is not this: see RowProblem)."""


class MassChangeRefused(Central365Error):
    """A sync would trip a guard against mass changes (`core.guards`) and was not allowed to.

    Nothing was written.  `guards` are the tripped ones; the message names them all in one line,
    then `advice`: how the front end that raised it lets a person allow the change.
    """

    def __init__(self, guards: Iterable[Guard], advice: str = "") -> None:
        self.guards: tuple[Guard, ...] = tuple(guards)
        said = " ".join([guard.message for guard in self.guards] + ([advice] if advice else []))
        deleting = bool(self.guards) and all(g.code == "mass_delete" for g in self.guards)
        what = "delete this many contacts" if deleting else "synchronise a mass change"
        super().__init__(f"Refusing to {what}. {said}")


class GraphError(Central365Error):
    """Microsoft Graph answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        problems: Iterable[str] = (),
    ) -> None:
        super().__init__(message, problems=problems)
        self.status = status
        self.code = code
        self.request_id = request_id


class Throttled(GraphError):
    """Graph kept throttling (or was unavailable) after every retry we allow."""


class AuthFailed(GraphError):
    """The token was refused, lacks a permission, or could not be acquired."""


class NotFound(GraphError):
    """The mailbox, folder or contact does not exist."""


class Conflict(GraphError):
    """The request conflicts with the mailbox's state (two folders with one name, a changed item)."""


class OutcomeUnknown(GraphError):
    """A write was sent but its answer was lost; it may or may not have happened."""
