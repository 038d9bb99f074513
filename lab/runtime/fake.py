"""A runtime that runs nothing: for unit tests of the orchestration (lifecycle, reset, status) only.

It records what it was asked to do, in order, and answers as a runtime whose components start at once.
The real-stack tests use the native and docker runtimes; this one never stands in for them.
"""

from __future__ import annotations

from typing import Any

from lab.config import LOOPBACK, Component, Settings
from lab.runtime import Endpoint


class FakeRuntime:
    name = "fake"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.calls: list[tuple[str, str]] = []
        self.up: dict[str, int] = {}
        self._next_pid = 1000
        self.logs: dict[str, str] = {}

    def prepare(self) -> None:
        self.calls.append(("prepare", ""))

    def preflight(self, comps: list[Component]) -> None:
        self.calls.append(("preflight", ",".join(c.name for c in comps)))

    def start(self, comps: list[Component]) -> None:
        for comp in comps:
            if comp.name not in self.up:
                self._next_pid += 1
                self.up[comp.name] = self._next_pid
                self.calls.append(("start", comp.name))

    def stop(self, comps: list[Component]) -> None:
        for comp in comps:
            if self.up.pop(comp.name, None) is not None:
                self.calls.append(("stop", comp.name))

    def kill(self, comp: Component) -> None:
        self.up.pop(comp.name, None)
        self.calls.append(("kill", comp.name))

    def running(self, comp: Component) -> bool:
        return comp.name in self.up

    def pid(self, comp: Component) -> int | None:
        return self.up.get(comp.name)

    def handle(self, comp: Component) -> str | None:
        return f"fake {self.up[comp.name]}" if comp.name in self.up else None

    def host(self, comp: Component, port: str | None = None) -> Endpoint:
        return Endpoint(LOOPBACK, self.settings.ports[port or comp.name.replace("-", "_")])

    def peer(self, comp: Component, port: str | None = None) -> Endpoint:
        return Endpoint(comp.name, 1)

    def template_values(self) -> dict[str, Any]:
        return {"ports": dict(self.settings.ports), "bind_host": LOOPBACK, "kafka_host": "kafka",
                "connect_host": "connect", "oltp_host": "oltp", "warehouse_host": "warehouse"}

    def log_path(self, comp: Component) -> None:
        return None

    def log_tail(self, comp: Component, lines: int = 40) -> str:
        return self.logs.get(comp.name, "")

    def follow_logs(self, comp: Component, lines: int) -> None:
        self.calls.append(("follow", comp.name))

    def down(self, wipe: bool) -> None:
        self.calls.append(("down", "wipe" if wipe else ""))
