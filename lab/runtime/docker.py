"""The docker runtime: PostgreSQL ×2, Kafka and Connect in containers of stack/compose.yaml (one compose
project per lab, named after the lab's id, so labs and their named volumes never meet); the orders service,
the dbt scheduler and the workspace as processes on the host, like the native runtime runs them.

Works with compose v2 (`docker compose`, Docker Desktop) and with Debian's compose v1 (`docker-compose`).
Containers are found by compose's labels, never by name (v1 and v2 name them differently).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from functools import cached_property
from typing import Any

from lab import process, ui
from lab.config import LOOPBACK, Component, Settings
from lab.errors import ExitCode, LabError
from lab.runtime import Endpoint, compose
from lab.runtime.native import NativeRuntime

_BUILD_FAILED_BASE = ("pull access denied", "manifest unknown", "failed to resolve", "no such host",
                      "repository does not exist", "connection refused", "i/o timeout", "TLS handshake")


def engine_answers() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def compose_command() -> list[str]:
    """`docker compose` (v2) where the plugin is installed, else Debian's `docker-compose` (v1)."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    raise LabError("Docker Compose is not installed (neither `docker compose` nor `docker-compose`)",
                   "install Docker Desktop, or the compose plugin for your engine", ExitCode.LAB_UNHEALTHY)


class DockerRuntime:
    name = "docker"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host_services = NativeRuntime(settings)  # the Python services run on the host
        self._ps: tuple[float, dict[str, dict[str, Any]]] | None = None

    # compose ----------------------------------------------------------------------------------------
    @property
    def project(self) -> str:
        return f"incident-lab-{self.settings.lab_id}"

    @cached_property
    def _compose(self) -> list[str]:
        return compose_command()

    def _argv(self, *args: str) -> list[str]:
        return [*self._compose, "-p", self.project, "-f", str(self.settings.root / "stack" / "compose.yaml"), *args]

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.settings.env()}

    def compose(self, *args: str, timeout: float = 600, what: str | None = None) -> str:
        argv = self._argv(*args)
        try:
            out = subprocess.run(argv, capture_output=True, text=True, env=self._env(), timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"`docker compose {' '.join(args)}` did not finish in {timeout:.0f} s",
                           "`bin/lab logs NAME` says what a service is doing", ExitCode.LAB_UNHEALTHY) from exc
        self._ps = None
        if out.returncode != 0:
            raise LabError(what or f"`docker compose {' '.join(args)}` failed",
                           "see the output above; `bin/lab logs NAME` shows a service's log", ExitCode.LAB_UNHEALTHY,
                           detail=(out.stdout + out.stderr)[-2500:])
        return out.stdout

    def _is_docker(self, comp: Component) -> bool:
        return comp.kind in compose.KINDS

    # prerequisites ------------------------------------------------------------------------------------
    def prepare(self) -> None:
        if not engine_answers():
            raise LabError("no Docker engine answers", "start Docker Desktop (or your engine), or use the native "
                           "runtime: LAB_RUNTIME=native make lab-up", ExitCode.LAB_UNHEALTHY)
        compose_file = self.settings.root / "stack" / "compose.yaml"
        if compose_file.read_text() != compose.render(self.settings):
            raise LabError("stack/compose.yaml is out of date with stack/components.toml", "run `bin/lab compose`",
                           ExitCode.LAB_UNHEALTHY)
        # Compose v1's `up` does not rebuild an image whose Dockerfile or scripts changed: build every time
        # (a second or two when nothing changed; minutes the first time, the jars included).
        first = not self._images_present()
        step = "building the lab's images (first time: Debian packages and the jars, a few minutes)" if first \
            else "the lab's images are current"
        with ui.step(step):
            try:
                self.compose("build", timeout=3600, what="the lab's images could not be built")
            except LabError as exc:
                if any(s in exc.detail for s in _BUILD_FAILED_BASE) and "bookworm" in exc.detail:
                    raise LabError("the base image debian:bookworm-slim could not be pulled",
                                   "connect to the internet once, or on a machine without a registry make it with "
                                   "stack/docker/base-image.sh", ExitCode.LAB_UNHEALTHY, detail=exc.detail) from exc
                raise

    def _images_present(self) -> bool:
        images = {c.spec["image"] for c in compose.containerised(self.settings)}
        return all(subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0
                   for image in images)

    # what runs --------------------------------------------------------------------------------------
    def _containers(self) -> dict[str, dict[str, Any]]:
        """service → {id, state, pid} of this project's containers (cached for a second: status asks a lot)."""
        now = time.monotonic()
        if self._ps and now - self._ps[0] < 1.0:
            return self._ps[1]
        label = f"label=com.docker.compose.project={self.project}"
        out = subprocess.run(["docker", "ps", "-a", "-q", "--filter", label], capture_output=True, text=True)
        ids = out.stdout.split()
        found: dict[str, dict[str, Any]] = {}
        if ids:
            inspect = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True)
            for c in json.loads(inspect.stdout or "[]"):
                service = c["Config"]["Labels"].get("com.docker.compose.service")
                if service and (service not in found or c["State"]["Running"]):
                    found[service] = {"id": c["Id"][:12], "running": c["State"]["Running"], "pid": c["State"]["Pid"],
                                      "health": (c["State"].get("Health") or {}).get("Status")}
        self._ps = (now, found)
        return found

    def running(self, comp: Component) -> bool:
        if not self._is_docker(comp):
            return self.host_services.running(comp)
        return bool(self._containers().get(comp.name, {}).get("running"))

    def pid(self, comp: Component) -> int | None:
        if not self._is_docker(comp):
            return self.host_services.pid(comp)
        c = self._containers().get(comp.name)
        return c["pid"] if c and c["running"] and c["pid"] else None

    def handle(self, comp: Component) -> str | None:
        if not self._is_docker(comp):
            return self.host_services.handle(comp)
        c = self._containers().get(comp.name)
        return f"container {c['id']}" if c and c["running"] else None

    def preflight(self, comps: list[Component]) -> None:
        for comp in comps:
            if comp.port is None or self.running(comp):
                continue
            process.require_free_port(self.settings.ports[comp.name.replace("-", "_")], comp.name)

    def start(self, comps: list[Component]) -> None:
        services = [c.name for c in comps if self._is_docker(c) and not self.running(c)]
        if services:
            # `up` waits for the healthy dependencies compose.yaml names (Connect waits for the others).
            self.compose("up", "-d", "--no-build", *services, timeout=900,
                         what=f"docker compose could not start {', '.join(services)}")
        self.host_services.start([c for c in comps if not self._is_docker(c)])

    def stop(self, comps: list[Component]) -> None:
        services = [c.name for c in comps if self._is_docker(c) and self.running(c)]
        if services:
            self.compose("stop", *services, timeout=120)
        self.host_services.stop([c for c in comps if not self._is_docker(c)])

    def kill(self, comp: Component) -> None:
        if not self._is_docker(comp):
            self.host_services.kill(comp)
            return
        c = self._containers().get(comp.name)
        if c and c["running"]:
            subprocess.run(["docker", "kill", "-s", "KILL", c["id"]], capture_output=True)
            self._ps = None

    def down(self, wipe: bool) -> None:
        """Containers and the network go; the named volumes (the lab's data, its clock) stay unless wipe."""
        self.compose("down", *(["-v"] if wipe else []), timeout=300)
        self.host_services.down(wipe)

    # where things are -------------------------------------------------------------------------------
    def host(self, comp: Component, port: str | None = None) -> Endpoint:
        return Endpoint(LOOPBACK, self.settings.ports[port or comp.name.replace("-", "_")])

    def peer(self, comp: Component, port: str | None = None) -> Endpoint:
        if not self._is_docker(comp):
            return self.host(comp, port)
        return Endpoint(comp.name, compose.INTERNAL_PORTS[port or comp.name])

    def template_values(self) -> dict[str, Any]:
        return dict(compose.TEMPLATE_VALUES)

    def log_path(self, comp: Component):
        return None if self._is_docker(comp) else self.host_services.log_path(comp)

    def log_tail(self, comp: Component, lines: int = 40) -> str:
        if not self._is_docker(comp):
            return self.host_services.log_tail(comp, lines)
        out = subprocess.run(self._argv("logs", "--no-color", "--tail", str(lines), comp.name), capture_output=True,
                             text=True, env=self._env())
        # compose prefixes each line with "<container> | " (v1 also says "Attaching to …"): keep the log itself.
        return "\n".join(line.split(" | ", 1)[-1] for line in (out.stdout + out.stderr).splitlines()
                         if not line.startswith("Attaching to "))

    def follow_logs(self, comp: Component, lines: int) -> None:
        if not self._is_docker(comp):
            self.host_services.follow_logs(comp, lines)
            return
        argv = self._argv("logs", "-f", "--tail", str(lines), comp.name)
        ui.info(f"[dim]$ docker compose logs -f --tail {lines} {comp.name}[/]")
        subprocess.run(argv, env=self._env())

    def exec_argv(self, comp: Component, interactive: bool) -> list[str]:
        """How to run a command inside a service's container (`lab psql` with no psql on the host)."""
        c = self._containers().get(comp.name)
        if not c or not c["running"]:
            raise LabError(f"{comp.name} is not running", "`bin/lab up` starts it", ExitCode.LAB_UNHEALTHY)
        return ["docker", "exec", *(["-it"] if interactive else ["-i"]), c["id"]]
