"""Where things live and which ports they use: read from stack/components.toml plus the environment.

Settings are read when asked for (never at import time) so tests can point the lab elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

REPO_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Component:
    name: str
    kind: str
    description: str
    port: int | None
    depends_on: tuple[str, ...]
    spec: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Stack:
    versions: dict[str, str]
    components: dict[str, Component]

    def of_kind(self, kind: str) -> list[Component]:
        return [c for c in self.components.values() if c.kind == kind]


def load_stack(root: Path = REPO_ROOT) -> Stack:
    raw = tomllib.loads((root / "stack" / "components.toml").read_text())
    comps = {
        name: Component(
            name=name,
            kind=spec["kind"],
            description=spec.get("description", ""),
            port=spec.get("port"),
            depends_on=tuple(spec.get("depends_on", [])),
            spec=spec,
        )
        for name, spec in raw["components"].items()
    }
    return Stack(versions=dict(raw["versions"]), components=comps)


def _env_port(name: str, default: int) -> int:
    key = "LAB_PORT_" + name.upper().replace("-", "_")
    value = os.environ.get(key)
    if value is None:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        from lab.errors import ExitCode, LabError

        raise LabError(f"{key}={value!r} is not a port number", f"set {key} to a number such as {default}",
                       ExitCode.USAGE)
    return int(value)


@dataclass(frozen=True)
class Settings:
    root: Path
    stack: Stack
    ports: dict[str, int]
    lab_dir: Path
    cache_dir: Path
    runtime: str = "native"  # or "docker" (LAB_RUNTIME=docker): servers from stack/compose.yaml

    @property
    def run_dir(self) -> Path:
        return self.lab_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.lab_dir / "logs"

    @property
    def jvm_dir(self) -> Path:
        return self.cache_dir / "jvm"

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def template_vars(self) -> dict[str, Any]:
        """Values the config templates in stack/ are rendered with, as the servers see each other."""
        if self.runtime == "docker":
            from lab.runtime import docker

            return docker.template_vars(self)
        return {
            "ports": self.ports,
            "bind_host": LOOPBACK,
            "kafka_host": LOOPBACK,
            "connect_host": LOOPBACK,
            "oltp_host": LOOPBACK,
            "warehouse_host": LOOPBACK,
        }


def settings(root: Path = REPO_ROOT) -> Settings:
    stack = load_stack(root)
    ports: dict[str, int] = {}
    for comp in stack.components.values():
        if comp.port is not None:
            ports[comp.name.replace("-", "_")] = _env_port(comp.name, comp.port)
        if "controller_port" in comp.spec:
            ports[f"{comp.name}_controller"] = _env_port(f"{comp.name}_controller", comp.spec["controller_port"])
    lab_dir = Path(os.environ.get("LAB_HOME", root / ".lab")).resolve()
    cache = Path(os.environ.get("LAB_CACHE_DIR", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                                / "incident-lab")).resolve()
    runtime = os.environ.get("LAB_RUNTIME", "native")
    if runtime not in ("native", "docker"):
        from lab.errors import ExitCode, LabError

        raise LabError(f"LAB_RUNTIME={runtime!r} is not a runtime", "use native (default) or docker", ExitCode.USAGE)
    return Settings(root=root, stack=stack, ports=ports, lab_dir=lab_dir, cache_dir=cache, runtime=runtime)
