"""The bench's own lab: a snapshot of the working tree, its own LAB_HOME and its own ports.

Why a snapshot: `lab reset` restores dbt_project/ and the bench edits a model before each reset. Run in
the checkout itself, that would rewrite files someone is working on. The snapshot (.lab-bench/src, a git
repository of its own with one commit) holds exactly what is in the working tree when the bench starts,
and every `lab` command of the bench runs from there (`python -m lab` imports the snapshot's package).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PORT_OFFSET = 40
# The lab's default ports (stack/components.toml); PostgreSQL ports move by the offset, JVM ports by 10×.
_BASE = {"OLTP": (54320, 1), "WAREHOUSE": (54321, 1), "KAFKA": (19092, 10), "KAFKA_CONTROLLER": (19093, 10),
         "CONNECT": (18083, 10)}
GIT_ID = ["-c", "user.name=lab bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false"]


def port_env(offset: int = PORT_OFFSET) -> dict[str, str]:
    return {f"LAB_PORT_{name}": str(base + step * offset) for name, (base, step) in _BASE.items()}


@dataclass
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def last_line(self) -> str:
        lines = [ln for ln in (self.stderr.strip() or self.stdout.strip()).splitlines() if ln.strip()]
        return lines[-1].strip() if lines else ""


class BenchError(Exception):
    """A step of the bench itself failed (the lab did not come up, a command failed)."""


class BenchLab:
    """The lab under measurement: `lab` commands run as a user runs them, from the snapshot."""

    def __init__(self, home: Path, *, cache_dir: Path | None = None, maven_repo: Path | None = None,
                 offset: int = PORT_OFFSET) -> None:
        self.home = home
        self.src = home / "src"
        self.cache_dir = cache_dir
        self.maven_repo = maven_repo
        self.offset = offset

    # environment --------------------------------------------------------------------------------
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {**os.environ, "LAB_HOME": str(self.home), **port_env(self.offset),
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
        # The bench's own settings win over whatever the caller's shell carries for a learner's lab.
        for key in ("LAB_ORDERS_PER_MINUTE", "LAB_FIRST_ORDER_AFTER", "LAB_DBT_EVERY"):
            env.pop(key, None)
        if self.cache_dir is not None:
            env["LAB_CACHE_DIR"] = str(self.cache_dir)
        if self.maven_repo is not None:
            env["MAVEN_OPTS"] = f"{env.get('MAVEN_OPTS', '')} -Dmaven.repo.local={self.maven_repo}".strip()
        return {**env, **(extra or {})}

    def use_in_process(self) -> None:
        """Point this process's lab settings at the bench lab (for direct SQL and component handles)."""
        env = self.env()
        for key in ("LAB_HOME", "LAB_CACHE_DIR", *port_env(self.offset)):
            if key in env:
                os.environ[key] = env[key]

    def settings(self):  # -> lab.config.Settings
        from lab.config import settings

        self.use_in_process()
        return settings(self.src)

    def lab(self):  # -> lab.stack.Lab
        from lab.stack import build

        return build(self.settings())

    # the snapshot -------------------------------------------------------------------------------
    def snapshot(self) -> None:
        """Copy the working tree's files (tracked, and untracked but not ignored) into .lab-bench/src."""
        listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "-c", "-o", "--exclude-standard"],
                                capture_output=True, check=True).stdout.decode().split("\0")
        shutil.rmtree(self.src, ignore_errors=True)
        self.src.mkdir(parents=True)
        for rel in filter(None, listed):
            if rel.startswith("bench/results/"):
                continue
            source = REPO / rel
            if not source.is_file():
                continue  # deleted in the working tree
            target = self.src / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        git = ["git", "-C", str(self.src), *GIT_ID]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "bench snapshot of the working tree"], check=True)

    def snapshot_commit(self) -> str:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(self.src), *GIT_ID, *args], capture_output=True, text=True,
                              check=check)

    def code_is_pristine(self) -> bool:
        return not self.git("status", "--porcelain", "--", "dbt_project").stdout.strip()

    # running lab commands -----------------------------------------------------------------------
    def run(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 900) -> Result:
        start = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True,
                                  env=self.env(extra_env), cwd=self.src, timeout=timeout)
            code, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            code, out, err = -1, _text(exc.stdout), _text(exc.stderr) + f"\ntimed out after {timeout:.0f} s"
        return Result(args, code, out, err, time.monotonic() - start)

    def run_ok(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 900) -> Result:
        res = self.run(*args, extra_env=extra_env, timeout=timeout)
        if not res.ok:
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-25:])
            raise BenchError(f"`lab {' '.join(args)}` exited {res.returncode}:\n{tail}")
        return res


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
