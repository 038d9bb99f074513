"""The lab's own Python processes (the orders service, the dbt scheduler), supervised like the servers."""

from __future__ import annotations

import os
import sys
import time

from lab import process
from lab.components.base import Health
from lab.config import Component, Settings

HEARTBEAT_MAX_AGE = 15.0


class PythonService:
    def __init__(self, comp: Component, settings: Settings) -> None:
        self.name = comp.name
        self.comp = comp
        self.module = comp.spec["module"]
        self.settings = settings
        self.port = None
        self.logfile = settings.log(self.name)
        self.pidfile = settings.pidfile(self.name)
        self.heartbeat = settings.run_dir / f"{self.name}.heartbeat"
        self.pause_flag = settings.run_dir / f"{self.name}.paused"

    def pid(self) -> int | None:
        return process.read_pid(self.pidfile, marker=self.module)

    def start(self) -> None:
        if self.pid():
            return
        self.heartbeat.unlink(missing_ok=True)
        env = {**os.environ, "LAB_HOME": str(self.settings.lab_dir), "PYTHONUNBUFFERED": "1"}
        process.spawn([sys.executable, "-m", self.module], self.logfile, self.pidfile, env=env,
                      cwd=self.settings.root)

    def beat(self) -> None:
        self.heartbeat.parent.mkdir(parents=True, exist_ok=True)
        self.heartbeat.touch()

    def heartbeat_age(self) -> float | None:
        try:
            return time.time() - self.heartbeat.stat().st_mtime
        except FileNotFoundError:
            return None

    def wait_ready(self, timeout: float = 20) -> None:
        process.wait_for(lambda: (self.heartbeat_age() or 1e9) < HEARTBEAT_MAX_AGE, timeout,
                         what=self.name, log=self.logfile, pid=self.pid())

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            process.stop(pid, timeout=15)

    def pause(self) -> None:
        self.pause_flag.parent.mkdir(parents=True, exist_ok=True)
        self.pause_flag.touch()

    def resume(self) -> None:
        self.pause_flag.unlink(missing_ok=True)

    @property
    def paused(self) -> bool:
        return self.pause_flag.exists()

    def health(self) -> Health:
        pid = self.pid()
        if not pid:
            return Health(self.name, False, None, None, "not running")
        age = self.heartbeat_age()
        if age is None or age > HEARTBEAT_MAX_AGE:
            return Health(self.name, False, None, pid, "no heartbeat")
        return Health(self.name, True, None, pid, "paused" if self.paused else self.comp.spec.get("doing", "running"))
