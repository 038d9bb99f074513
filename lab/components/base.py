"""What every component module offers the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class Health:
    name: str
    healthy: bool
    port: int | None
    pid: int | None
    detail: str = ""


class Managed(Protocol):
    name: str

    def start(self) -> None: ...

    def wait_ready(self, timeout: float) -> None: ...

    def stop(self) -> None: ...

    def pid(self) -> int | None: ...

    def health(self) -> Health: ...
