"""What every component module offers: a health reading that `lab status` and the workspace show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Health:
    name: str
    healthy: bool
    port: int | None
    pid: int | None
    detail: str = ""
    handle: str | None = None  # how a person finds it: "pid 123", "container 4f2a…"
