"""Console output: progress for long steps, one-line errors. All output goes through here."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

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
