"""Console output: progress for long steps, one-line errors. All output goes through here."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from rich.console import Console

console = Console(highlight=False)
# soft_wrap: an error is one line however narrow the terminal (or a pipe, which rich takes as 80 columns).
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


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
