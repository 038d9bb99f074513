"""The lab's own Python processes (the orders service, the dbt scheduler, the workspace), supervised like
the servers: each beats a heartbeat file while its loop runs, and honours a pause flag."""

from __future__ import annotations

import time

from lab import process
from lab.components.base import Health
from lab.config import Component, Settings

HEARTBEAT_MAX_AGE = 15.0


class PythonService:
    def __init__(self, comp: Component, settings: Settings, runtime) -> None:
        self.name = comp.name
        self.comp = comp
        self.module = comp.spec["module"]
        self.settings = settings
        self.runtime = runtime
        self.heartbeat = settings.run_dir / f"{self.name}.heartbeat"
        self.pause_flag = settings.run_dir / f"{self.name}.paused"

    @property
    def port(self) -> int | None:
        return self.runtime.host(self.comp).port if self.comp.port is not None else None

    @property
    def logfile(self):
        return self.runtime.log_path(self.comp)

    def pid(self) -> int | None:
        return self.runtime.pid(self.comp)

    def start(self) -> None:
        if self.pid():
            return
        self.heartbeat.unlink(missing_ok=True)
        self.runtime.start([self.comp])

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
        self.runtime.stop([self.comp])

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
            return Health(self.name, False, self.port, None, "not running")
        age = self.heartbeat_age()
        if age is None or age > HEARTBEAT_MAX_AGE:
            return Health(self.name, False, self.port, pid, "no heartbeat", f"pid {pid}")
        doing = "paused" if self.paused else self.comp.spec.get("doing", "running")
        return Health(self.name, True, self.port, pid, doing, f"pid {pid}")
