"""Console output: progress for long steps, one-line errors. All output goes through here."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console

# Piped output (`lab status > file`) is not wrapped: rich takes a pipe for 80 columns, so it gets room and
# soft wrapping; a terminal keeps its width. An error is one line however narrow the terminal.
console = Console(highlight=False, **({} if sys.stdout.isatty() else {"width": 400, "soft_wrap": True}))
err_console = Console(stderr=True, highlight=False, soft_wrap=True, **({} if sys.stderr.isatty() else {"width": 400}))


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    """A long step: a spinner while it runs, then a ✓ line with its duration (or ✗ if it raised)."""
    start = time.monotonic()
    try:
        with console.status(f"{what} …"):
            yield
    except BaseException:
        console.print(f"[red]✗[/] {what}")
        raise
    console.print(f"[green]✓[/] {what} [dim]({time.monotonic() - start:.1f} s)[/]")


def ok(text: str) -> None:
    console.print(f"[green]✓[/] {text}")


def info(text: str) -> None:
    console.print(text)


def warn(text: str) -> None:
    console.print(f"[yellow]![/] {text}")


def run_command(group, *, interrupted: str, prog_name: str | None = None,
                on_error: Callable[[], Path | None] | None = None, debug: bool = False) -> None:
    """Run a click group the way every command of the lab ends: a LabError is its one `Error: … — fix`
    line (its evidence above it) and its exit code; bad usage exits 64; Ctrl-C says what to do. With
    on_error (the `lab` command), an unexpected exception is one line too, its traceback in the log."""
    import traceback

    import click

    from lab.errors import ExitCode, LabError

    try:
        group.main(standalone_mode=False, prog_name=prog_name)
    except LabError as exc:
        if on_error:
            on_error()
        if exc.detail:
            err_console.print(exc.detail, markup=False, style="dim")
        if debug:
            traceback.print_exc()
        err_console.print(exc.line(), markup=False, style="bold red")
        sys.exit(exc.code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except (click.exceptions.Abort, KeyboardInterrupt):
        err_console.print(f"Error: interrupted — {interrupted}", markup=False, style="bold red")
        sys.exit(130)
    except Exception as exc:
        if on_error is None:
            raise
        path = on_error()  # the traceback goes to the lab's log, whose path is named
        if debug:
            traceback.print_exc()
        where = f"the traceback is in {path}" if path else "rerun with --debug"
        err_console.print(f"Error: unexpected {type(exc).__name__}: {exc} — {where}", markup=False,
                          style="bold red")
        sys.exit(ExitCode.FAILED)
