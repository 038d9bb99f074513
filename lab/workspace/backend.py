"""The workspace's one door into the lab: the incident API (lab/api.py) and nothing behind it, except the
component objects whose logs the map shows. The unit tests hand the app a fake with the same methods."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lab import api
from lab.config import Settings
from lab.errors import LabError

log = logging.getLogger("workspace")

LOG_TAIL_BYTES = 64 * 1024  # the last lines of a log, read from its end: a Connect log can be large


def tail_file(path: Path, lines: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - LOG_TAIL_BYTES))
        data = fh.read().decode(errors="replace")
    return "\n".join(data.splitlines()[-lines:])


class LabBackend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lab = api.open(settings)

    @property
    def quarter(self) -> str:
        from seed import story

        return story.Q2_LABEL

    def status(self):
        return api.status(self.lab)

    def revenue_by_day(self) -> list[dict[str, Any]]:
        return api.revenue_by_day(self.lab)

    def clock(self):
        return api.clock(self.lab)

    def session(self):
        return api.session(self.lab)

    def hints_total(self) -> int:
        return api.hints_total()

    def next_hint(self) -> tuple[int, int, str]:
        return api.next_hint(self.lab)

    def pause_orders(self) -> None:
        api.pause_orders(self.lab)

    def resume_orders(self) -> None:
        api.resume_orders(self.lab)

    def check(self, on_event) -> int:
        return api.check(self.settings, on_event=on_event)

    def reset(self, seed: int | None, keep_code: bool) -> None:
        """`lab reset` (api.reset) in a process of its own, as `lab check` runs the checker: a new variant is
        generated in memory (~25 MiB that Python keeps), and the workspace must stay small and keep serving."""
        argv = [sys.executable, "-m", "lab", "reset", *(["--seed", str(seed)] if seed is not None else []),
                *(["--keep-code"] if keep_code else [])]
        log.info("$ %s", " ".join(["bin/lab", *argv[3:]]))
        proc = subprocess.run(argv, env={**os.environ, **self.settings.env()}, cwd=self.settings.root,
                              capture_output=True, text=True)
        for line in (proc.stdout + proc.stderr).splitlines():
            if line.strip():
                log.info("reset: %s", line)
        if proc.returncode != 0:
            errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("Error:")]
            problem = errors[-1][len("Error:"):].strip() if errors else f"`lab reset` exited {proc.returncode}"
            raise LabError(problem, "" if " — " in problem else "see the workspace log (bin/lab logs workspace)")

    def describe(self, name: str) -> str:
        comp = self.settings.stack.components.get(name)
        return comp.description if comp else ""

    def log_tail(self, name: str, lines: int = 40) -> tuple[str, str]:
        """(where the log is, its last lines)."""
        comp = self.lab.component(name)
        path = self.lab.runtime.log_path(comp.comp)
        if path is not None and Path(path).is_file():
            shown = Path(path)
            for root in (self.settings.root, self.settings.lab_dir.parent):
                if shown.is_relative_to(root):
                    shown = shown.relative_to(root)
                    break
            return str(shown), tail_file(Path(path), lines)
        return f"bin/lab logs {name}", self.lab.runtime.log_tail(comp.comp, lines)

    def beat(self) -> None:
        if self.lab.workspace is not None:
            self.lab.workspace.beat()
        else:  # run by hand from a checkout whose components.toml has no workspace yet
            path = self.settings.run_dir / "workspace.heartbeat"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
