"""Runtimes: how the lab's components are run — native OS processes, or containers of an engine.

One small contract (`Runtime`) with three implementations: `native` (processes under .lab/, the default
where Java and PostgreSQL are at hand), `docker` (stack/compose.yaml, for laptops with Docker Desktop or an
engine) and `fake` (unit tests of the orchestration). Component modules describe a component, tell when it
is ready and hand out connection details; they never ask which runtime runs them. The runtime is chosen once
per lab (`choose`) and remembered in its home, since the lab's data lives where that runtime keeps it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lab.config import Component, Settings
from lab.errors import ExitCode, LabError

RUNTIMES = ("native", "docker")


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class Runtime(Protocol):
    name: str
    settings: Settings

    def prepare(self) -> None:
        """Install or verify what this runtime needs (Java, PostgreSQL, jars; or an engine and images)."""

    def preflight(self, comps: list[Component]) -> None:
        """Refuse, before anything starts, a port of a stopped component that someone else holds."""

    def start(self, comps: list[Component]) -> None:
        """Start these components if they are not running (idempotent); readiness is the caller's."""

    def stop(self, comps: list[Component]) -> None: ...

    def kill(self, comp: Component) -> None:
        """SIGKILL the component's main process (fault injection)."""

    def running(self, comp: Component) -> bool: ...

    def pid(self, comp: Component) -> int | None:
        """A host process id, where the runtime has one."""

    def handle(self, comp: Component) -> str | None:
        """How a person finds the running component: `pid 123`, `container 4f2a…`."""

    def host(self, comp: Component, port: str | None = None) -> Endpoint:
        """Where the host (the lab, the learner) reaches the component."""

    def peer(self, comp: Component, port: str | None = None) -> Endpoint:
        """Where the other components reach it."""

    def template_values(self) -> dict[str, Any]:
        """Values the configs in stack/ are rendered with (hosts and ports as the components see each other)."""

    def log_path(self, comp: Component) -> Path | None: ...

    def log_tail(self, comp: Component, lines: int = 40) -> str: ...

    def follow_logs(self, comp: Component, lines: int) -> None: ...

    def down(self, wipe: bool) -> None:
        """After every component is stopped: release what the runtime holds (networks; data if wipe)."""


def _remembered(settings: Settings) -> Path:
    return settings.lab_dir / "runtime"


def choose(settings: Settings) -> tuple[str, str]:
    """(runtime, why). LAB_RUNTIME forces one; a lab that exists keeps the runtime it was made with;
    a new lab gets native when its prerequisites are present or installable, else docker when an engine
    answers, else one line naming both ways."""
    remembered = _remembered(settings)
    kept = remembered.read_text().strip() if remembered.exists() else None
    if settings.runtime != "auto":
        if kept and kept != settings.runtime:
            raise LabError(f"this lab was made with the {kept} runtime and holds its data there, not "
                           f"{settings.runtime}",
                           f"unset LAB_RUNTIME, or `lab down --wipe` first to start over with {settings.runtime}",
                           ExitCode.USAGE)
        return settings.runtime, "LAB_RUNTIME=" + settings.runtime
    if kept in RUNTIMES:
        return kept, f"this lab was made with the {kept} runtime"
    from lab.runtime import docker, native

    ok, why_native = native.available(settings)
    if ok:
        return "native", why_native
    if docker.engine_answers():
        return "docker", f"{why_native}; a Docker engine answers"
    raise LabError(f"no runtime can run the lab here: {why_native}, and no Docker engine answers",
                   "either install them (native runtime) or start Docker Desktop / a Docker engine "
                   "(LAB_RUNTIME=docker make lab-up)", ExitCode.LAB_UNHEALTHY)


def remember(settings: Settings, name: str) -> None:
    settings.lab_dir.mkdir(parents=True, exist_ok=True)
    _remembered(settings).write_text(name + "\n")


def forget(settings: Settings) -> None:
    _remembered(settings).unlink(missing_ok=True)


def make(settings: Settings, name: str | None = None) -> Runtime:
    """The runtime of this lab: `name`, or the one it was made with (native for a lab not made yet — the
    commands that make a lab call `choose` first)."""
    if name is None:
        kept = _remembered(settings)
        name = settings.runtime if settings.runtime != "auto" else (
            kept.read_text().strip() if kept.exists() else "native")
    if name == "docker":
        from lab.runtime.docker import DockerRuntime

        return DockerRuntime(settings)
    if name == "fake":
        from lab.runtime.fake import FakeRuntime

        return FakeRuntime(settings)
    from lab.runtime.native import NativeRuntime

    return NativeRuntime(settings)


def which(tool: str) -> str | None:
    return shutil.which(tool)
