"""The command line's frame: the Typer app, global options, and the one error translator.

`fail` turns every central365 error into one readable message and an exit code: 0 all good,
1 some records failed or rows of Central could not be read or the run stopped early, 2
configuration, source or Office 365 errors that stopped the run before records were processed.
Tracebacks only with `--debug`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from central365.config import Settings, load_settings
from central365.core.errors import Central365Error
from central365.sources.redact import mask_secrets

EXIT_OK, EXIT_FAILED_RECORDS, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    name="central365",
    help="Push the active contacts of Central into one Office 365 contacts folder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class Context:
    """What the global options set, handed to every command."""

    debug: bool
    config_file: Path | None
    out: Console
    err: Console

    def settings(self, require_central: bool = True) -> Settings:
        return load_settings(os.environ, self.config_file, require_central=require_central)


@app.callback()
def _global(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings file (default ./central365.toml).")
    ] = None,
) -> None:
    ctx.obj = Context(debug, config, Console(), Console(stderr=True))


def fail(ctx: Context, exc: BaseException) -> NoReturn:
    """The one place that turns an exception into a message and an exit code."""
    if ctx.debug:
        ctx.err.print(mask_secrets(traceback.format_exc()), markup=False, highlight=False)
    if isinstance(exc, Central365Error):
        # soft_wrap: off a terminal Rich would hard-wrap at 80 columns, mid-sentence.
        ctx.err.print(
            f"Error: {mask_secrets(exc.full_message())}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    elif isinstance(exc, KeyboardInterrupt):
        ctx.err.print("Interrupted.")
        raise typer.Exit(130)
    else:
        ctx.err.print(
            f"Unexpected error ({type(exc).__name__}): {mask_secrets(str(exc))}. "
            "Run again with --debug for details.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(EXIT_ERROR)


@contextmanager
def errors_handled(ctx: Context) -> Iterator[None]:
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except (Exception, KeyboardInterrupt) as exc:
        fail(ctx, exc)


def print_json(ctx: Context, data: Any) -> None:
    """JSON straight to stdout: no console wrapping or highlighting on the way (fast and exact)."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


def engine_logs(ctx: Context) -> None:
    """The engine's log lines go to stderr with --debug only.

    Without it a warning logged on the way (a Graph read cut short because Central's read
    failed first, say) would be printed by Python's last-resort handler beside the one error
    message the command gives.
    """
    engine = logging.getLogger("central365")
    for handler in [h for h in engine.handlers if h.get_name() == "central365-cli"]:
        engine.removeHandler(handler)  # a previous command in this process (tests) set one
    chosen: logging.Handler
    if ctx.debug:
        chosen = logging.StreamHandler(sys.stderr)
        chosen.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        engine.setLevel(logging.DEBUG)
    else:
        # A handler in the hierarchy, even one that drops everything, keeps Python's
        # last-resort handler from printing warnings; records still propagate to the root.
        chosen = logging.NullHandler()
    chosen.set_name("central365-cli")
    engine.addHandler(chosen)
