"""Every setting of the lab, with one environment name each, read when asked for (never at import time).

`KNOBS` is the registry: the README's table of settings is held to it by a test. Ports come from
stack/components.toml; a whole lab moves to its own block with LAB_INSTANCE=k (every port + 10·k, its own
home `.lab-k`), and one component's port with LAB_PORT_<NAME>.
"""

from __future__ import annotations

import os
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import ExitCode, LabError

REPO_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
INSTANCE_STEP = 10  # ports of instance k: the described port + 10·k (the described ports differ in their last digit)
MAX_INSTANCE = 99


@dataclass(frozen=True)
class Knob:
    env: str
    default: str
    doc: str


KNOBS: dict[str, Knob] = {
    "home": Knob("LAB_HOME", ".lab (instance k: .lab-k)", "where this lab keeps its data, logs and state"),
    "instance": Knob("LAB_INSTANCE", "0", "run a whole lab beside others: its own port block (+10·k) and home"),
    "runtime": Knob("LAB_RUNTIME", "auto", "native, docker, or auto (native when its prerequisites are present "
                    "or installable, else docker when an engine answers)"),
    "cache_dir": Knob("LAB_CACHE_DIR", "~/.cache/incident-lab", "jars and downloads, shared by every lab"),
    "pg_bindir": Knob("LAB_PG_BINDIR", "found", "folder holding initdb, pg_ctl and postgres (native runtime)"),
    "no_install": Knob("LAB_NO_INSTALL", "unset", "set to 1: never install system packages, only say how"),
    "dbt_every_s": Knob("LAB_DBT_EVERY", "600", "seconds between the scheduler's production dbt runs"),
    "orders_per_minute": Knob("LAB_ORDERS_PER_MINUTE", "4", "how busy the shop is"),
    "first_order_after_s": Knob("LAB_FIRST_ORDER_AFTER", "30", "seconds before the first live order"),
    "port": Knob("LAB_PORT_<COMPONENT>", "stack/components.toml", "one component's port (e.g. LAB_PORT_OLTP)"),
    "roster_token": Knob("LAB_ROSTER_TOKEN", "unset", "token `lab roster` clones private learner repositories with"),
}


@dataclass(frozen=True)
class Component:
    name: str
    kind: str
    description: str
    port: int | None
    depends_on: tuple[str, ...]
    spec: dict[str, Any] = field(repr=False)

    @property
    def env_name(self) -> str:
        return port_env_name(self.name)


@dataclass(frozen=True)
class Stack:
    versions: dict[str, str]
    components: dict[str, Component]

    def of_kind(self, kind: str) -> list[Component]:
        return [c for c in self.components.values() if c.kind == kind]

    def described_ports(self) -> dict[str, int]:
        """Port name (a component's name with `_` for `-`, plus `kafka_controller`) → the port
        stack/components.toml gives (instance 0, no override)."""
        out: dict[str, int] = {}
        for comp in self.components.values():
            if comp.port is not None:
                out[comp.name.replace("-", "_")] = comp.port
            if "controller_port" in comp.spec:
                out[f"{comp.name}_controller"] = comp.spec["controller_port"]
        return out


def load_stack(root: Path = REPO_ROOT) -> Stack:
    raw = tomllib.loads((root / "stack" / "components.toml").read_text())
    comps = {
        name: Component(name=name, kind=spec["kind"], description=spec.get("description", ""),
                        port=spec.get("port"), depends_on=tuple(spec.get("depends_on", [])), spec=spec)
        for name, spec in raw["components"].items()
    }
    return Stack(versions=dict(raw["versions"]), components=comps)


def port_env_name(port_name: str) -> str:
    return "LAB_PORT_" + port_name.upper().replace("-", "_")


def _int(env: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    value = env.get(key)
    if value is None or value == "":
        return default
    if not value.strip().isdigit() or not low <= int(value) <= high:
        raise LabError(f"{key}={value!r} is not a number from {low} to {high}",
                       f"set {key} to a number such as {default}", ExitCode.USAGE)
    return int(value)


def _float(env: dict[str, str], key: str, default: float) -> float:
    value = env.get(key)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1
    if number < 0:
        raise LabError(f"{key}={value!r} is not a positive number", f"set {key} to e.g. {default:g}", ExitCode.USAGE)
    return number


def instance_ports(stack: Stack, instance: int) -> dict[str, int]:
    """The port block of instance k: every described port + 10·k."""
    return {name: port + INSTANCE_STEP * instance for name, port in stack.described_ports().items()}


def instance_env(instance: int, home: Path) -> dict[str, str]:
    """The environment that makes a lab instance k with its home at `home` — for tests, the bench and
    facilitators' scripts (no LAB_PORT_* overrides: the block follows from the instance)."""
    return {"LAB_INSTANCE": str(instance), "LAB_HOME": str(home)}


@dataclass(frozen=True)
class Settings:
    root: Path
    stack: Stack
    ports: dict[str, int]  # by port name: component names (`_` for `-`), plus "kafka_controller"
    lab_dir: Path
    cache_dir: Path
    runtime: str = "auto"  # native | docker | auto (decided once per lab: lab/runtime)
    instance: int = 0
    pg_bindir: Path | None = None
    no_install: bool = False
    dbt_every_s: float = 600.0
    orders_per_minute: float = 4.0
    first_order_after_s: float = 30.0

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

    def port(self, name: str) -> int:
        return self.ports[name]

    @property
    def lab_id(self) -> str:
        """This lab's identity, stamped into its databases so `lab status` can tell its servers from another
        lab's on the same ports. Made on first use."""
        path = self.lab_dir / "lab-id"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            self.lab_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(uuid.uuid4().hex[:12] + "\n")
            return path.read_text().strip()

    def env(self) -> dict[str, str]:
        """The environment that gives a child process exactly these settings."""
        env = {"LAB_HOME": str(self.lab_dir), "LAB_INSTANCE": str(self.instance), "LAB_RUNTIME": self.runtime,
               "LAB_CACHE_DIR": str(self.cache_dir), "LAB_DBT_EVERY": f"{self.dbt_every_s:g}",
               "LAB_ORDERS_PER_MINUTE": f"{self.orders_per_minute:g}",
               "LAB_FIRST_ORDER_AFTER": f"{self.first_order_after_s:g}"}
        env.update({port_env_name(name): str(port) for name, port in self.ports.items()})
        if self.pg_bindir:
            env["LAB_PG_BINDIR"] = str(self.pg_bindir)
        if self.no_install:
            env["LAB_NO_INSTALL"] = "1"
        return env


def settings(root: Path = REPO_ROOT, environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    stack = load_stack(root)
    instance = _int(env, "LAB_INSTANCE", 0, 0, MAX_INSTANCE)
    ports = {name: _int(env, port_env_name(name), port, 1, 65535)
             for name, port in instance_ports(stack, instance).items()}
    home = env.get("LAB_HOME") or str(root / (".lab" if instance == 0 else f".lab-{instance}"))
    cache = env.get("LAB_CACHE_DIR") or str(Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                                            / "incident-lab")
    runtime = env.get("LAB_RUNTIME") or "auto"
    if runtime not in ("native", "docker", "auto"):
        raise LabError(f"LAB_RUNTIME={runtime!r} is not a runtime", "use native, docker or auto (the default)",
                       ExitCode.USAGE)
    return Settings(root=root, stack=stack, ports=ports, lab_dir=Path(home).expanduser().resolve(),
                    cache_dir=Path(cache).expanduser().resolve(), runtime=runtime, instance=instance,
                    pg_bindir=Path(env["LAB_PG_BINDIR"]) if env.get("LAB_PG_BINDIR") else None,
                    no_install=bool(env.get("LAB_NO_INSTALL")), dbt_every_s=_float(env, "LAB_DBT_EVERY", 600.0),
                    orders_per_minute=_float(env, "LAB_ORDERS_PER_MINUTE", 4.0),
                    first_order_after_s=_float(env, "LAB_FIRST_ORDER_AFTER", 30.0))
