"""The `central365` command line: plan, sync, undo, history, folders, serve, sandbox, demo.

`app` frames every command (global options, the one error translator); the commands live in
`plan_commands` (plan, sync, folders), `history_commands` (history), `undo_commands` (undo),
`orphan_commands` (orphans), `worker_commands` (worker) and `server_commands` (sandbox, serve,
demo), which register themselves on it when imported here.
"""

from __future__ import annotations

from central365.cli import (
    history_commands,
    orphan_commands,
    plan_commands,
    server_commands,
    undo_commands,
    worker_commands,
)
from central365.cli.app import app

__all__ = [
    "app",
    "history_commands",
    "main",
    "orphan_commands",
    "plan_commands",
    "server_commands",
    "undo_commands",
    "worker_commands",
]


def main() -> None:
    """Entry point of the `central365` script."""
    app(prog_name="central365")
