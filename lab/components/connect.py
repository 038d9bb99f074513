"""The Kafka Connect worker (distributed mode, one worker) and the connectors it runs.

Connectors are registered idempotently with PUT /connectors/<name>/config, and only when their config
differs from what the worker already has: re-putting an identical config would restart the tasks.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from lab import process
from lab.components.base import Health
from lab.components.jvm import java_argv
from lab.config import LOOPBACK, Component, Settings
from lab.errors import ExitCode, LabError
from lab.templates import render_connector, render_text, write_if_changed

MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"


class ConnectWorker:
    def __init__(self, comp: Component, settings: Settings, java: str = "java") -> None:
        self.name = comp.name
        self.comp = comp
        self.settings = settings
        self.java = java
        self.port = settings.ports["connect"]
        self.home = settings.lab_dir / "connect"
        self.config = self.home / "worker.properties"
        self.logfile = settings.log(self.name)
        self.pidfile = settings.pidfile(self.name)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    # connectors as described in stack/connectors/*.json ----------------------------------------------
    def connector_specs(self) -> list[dict[str, Any]]:
        values = self.settings.template_vars()
        return [render_connector(self.settings.root / p, values) for p in self.comp.spec["connectors"]]

    @property
    def connector_names(self) -> list[str]:
        return [c["name"] for c in self.connector_specs()]

    # lifecycle ----------------------------------------------------------------------------------
    def pid(self) -> int | None:
        if self.settings.runtime == "docker":
            from lab.runtime import docker

            return docker.container_pid(self.settings, self.name)
        return process.read_pid(self.pidfile, marker=MAIN)

    def start(self) -> None:
        if self.pid() or self.settings.runtime == "docker":  # compose starts the containers
            return
        process.require_free_port(self.port, self.name)
        values = {**self.settings.template_vars(), "plugin_path": str(self.settings.jvm_dir / "plugins")}
        write_if_changed(self.config, render_text(self.settings.root / self.comp.spec["config"], values))
        argv = java_argv(self.java, self.settings, "connect", self.comp.spec.get("heap", "512m"), MAIN,
                         str(self.config))
        process.spawn(argv, self.logfile, self.pidfile)

    def ping(self) -> bool:
        with self.http() as client:
            return client.get("/connectors").status_code == 200

    def wait_ready(self, timeout: float = 90) -> None:
        process.wait_for(self.ping, timeout, interval=0.3, what="Kafka Connect worker", log=self.logfile,
                         pid=self.pid())

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            process.stop(pid, timeout=20)

    # connectors ---------------------------------------------------------------------------------
    def register(self) -> list[str]:
        """PUT each connector's config where it differs; returns the names that changed."""
        changed = []
        with self.http() as client:
            for spec in self.connector_specs():
                name, config = spec["name"], spec["config"]
                current = client.get(f"/connectors/{name}/config")
                if current.status_code == 200:
                    have = {k: v for k, v in current.json().items() if k != "name"}
                    if have == config:
                        continue
                resp = client.put(f"/connectors/{name}/config", json=config)
                if resp.status_code >= 400:
                    raise LabError(f"Kafka Connect rejected connector {name}: {resp.text[:300]}",
                                   f"check stack/connectors/{name}.json", ExitCode.LAB_UNHEALTHY)
                changed.append(name)
        return changed

    def resume_stopped(self) -> list[str]:
        """Resume connectors that are STOPPED or PAUSED (the lab never leaves them so on purpose)."""
        resumed = []
        with self.http() as client:
            for name in self.connector_names:
                st = client.get(f"/connectors/{name}/status")
                if st.status_code == 200 and st.json()["connector"]["state"] in ("STOPPED", "PAUSED"):
                    client.put(f"/connectors/{name}/resume").raise_for_status()
                    resumed.append(name)
        return resumed

    def status(self, name: str) -> dict[str, Any] | None:
        with self.http() as client:
            resp = client.get(f"/connectors/{name}/status")
        return resp.json() if resp.status_code == 200 else None

    @staticmethod
    def running(status: dict[str, Any] | None) -> bool:
        return bool(status and status["connector"]["state"] == "RUNNING" and status["tasks"]
                    and all(t["state"] == "RUNNING" for t in status["tasks"]))

    def wait_connectors(self, timeout: float = 60) -> None:
        """Until every connector and every task is RUNNING; restarts a FAILED task once."""
        deadline = time.monotonic() + timeout
        restarted: set[str] = set()
        for name in self.connector_names:
            while True:
                st = self.status(name)
                if self.running(st):
                    break
                failed = [t for t in (st or {}).get("tasks", []) if t["state"] == "FAILED"]
                if failed and name not in restarted:
                    restarted.add(name)
                    with self.http() as client:
                        client.post(f"/connectors/{name}/restart", params={"includeTasks": "true",
                                                                          "onlyFailed": "true"})
                elif failed:
                    trace = failed[0].get("trace", "").splitlines()
                    raise LabError(f"connector {name} task FAILED: {trace[0] if trace else '?'}",
                                   "`lab logs connect` shows the trace; `lab reset` starts it clean",
                                   ExitCode.LAB_UNHEALTHY, detail="\n".join(trace[:8]))
                if time.monotonic() > deadline:
                    raise LabError(f"connector {name} not RUNNING after {timeout:.0f} s (state: "
                                   f"{_state_words(st)})", "`lab logs connect` says why",
                                   ExitCode.LAB_UNHEALTHY, detail=process.tail(self.logfile))
                time.sleep(0.3)

    def delete_connector(self, name: str) -> None:
        with self.http() as client:
            client.delete(f"/connectors/{name}")

    def health(self) -> Health:
        pid = self.pid()
        if not pid:
            return Health(self.name, False, self.port, None, "not running")
        try:
            self.ping()
        except httpx.HTTPError as exc:
            return Health(self.name, False, self.port, pid, f"REST API not answering: {exc}")
        return Health(self.name, True, self.port, pid, "REST API answering")


def _state_words(st: dict[str, Any] | None) -> str:
    if not st:
        return "not registered"
    tasks = ", ".join(f"task {t['id']} {t['state']}" for t in st.get("tasks", [])) or "no tasks yet"
    return f"connector {st['connector']['state']}, {tasks}"


def plugin_dirs(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.jvm_dir / "plugins").iterdir() if p.is_dir())
