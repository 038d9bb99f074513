"""Run dbt the way the lab trusts: its own profile and roles, a fresh target path, no partial parse.

dbt runs in a subprocess: the learner's Jinja cannot touch the lab's state, and every run is isolated
(dbt's in-process runner keeps global state between invocations).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lab.config import LOOPBACK, Settings

PROFILE = "lab"
TRANSFORM_ROLE = "lab_transformer"  # builds models: reads raw, writes its schemas, no grant on erp
TEST_ROLE = "lab_tester"  # runs tests: may also read erp, so reconciliation tests are possible


@dataclass
class DbtRun:
    command: list[str]
    returncode: int
    output: str
    elapsed: float
    target_path: Path
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def by_status(self, *statuses: str) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] in statuses]

    def manifest(self) -> dict[str, Any]:
        path = self.target_path / "manifest.json"
        return json.loads(path.read_text()) if path.exists() else {}


def write_profile(settings: Settings, schema: str) -> Path:
    """The lab's own profiles.yml (never the one in the learner's tree), in a folder of its own."""
    folder = settings.lab_dir / "dbt" / f"profile-{schema}"
    folder.mkdir(parents=True, exist_ok=True)

    def target(user: str) -> dict[str, Any]:
        return {"type": "postgres", "host": LOOPBACK, "port": settings.ports["warehouse"], "user": user,
                "password": "", "dbname": "warehouse", "schema": schema, "threads": 4, "connect_timeout": 5}

    doc = {PROFILE: {"target": "transform", "outputs": {"transform": target(TRANSFORM_ROLE),
                                                        "test": target(TEST_ROLE)}}}
    (folder / "profiles.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def dbt_executable() -> str:
    exe = Path(sys.executable).parent / "dbt"
    return str(exe) if exe.exists() else "dbt"


def _command(settings: Settings, project_dir: Path | None, schema: str, target: str, target_path: Path | None,
             partial_parse: bool = False) -> tuple[list[str], Path, Path, dict[str, str]]:
    """The flags every dbt command of the lab gets, the project folder, the target path and the env."""
    project_dir = project_dir or settings.root / "dbt_project"
    profiles = write_profile(settings, schema)
    target_path = target_path or settings.lab_dir / "dbt" / f"target-{schema}-{int(time.time() * 1000)}"
    target_path.mkdir(parents=True, exist_ok=True)
    flags = ["--project-dir", str(project_dir), "--profiles-dir", str(profiles), "--profile", PROFILE,
             "--target", target, "--target-path", str(target_path), "--log-path", str(target_path / "logs"),
             "--partial-parse" if partial_parse else "--no-partial-parse", "--no-use-colors"]
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    return flags, project_dir, target_path, env


def _result(cmd: list[str], code: int, out: str, elapsed: float, target_path: Path) -> DbtRun:
    result = DbtRun(cmd, code, out, elapsed, target_path)
    rr = target_path / "run_results.json"
    if rr.exists():
        result.results = json.loads(rr.read_text()).get("results", [])
    return result


def run(settings: Settings, args: list[str], *, project_dir: Path | None = None, schema: str = "analytics",
        target: str = "transform", target_path: Path | None = None, timeout: float = 300) -> DbtRun:
    flags, project_dir, target_path, env = _command(settings, project_dir, schema, target, target_path)
    cmd = [dbt_executable(), *args, *flags]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=project_dir)
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out = -1, f"{exc.stdout or ''}{exc.stderr or ''}\ndbt timed out after {timeout:.0f} s"
    return _result(cmd, code, out if isinstance(out, str) else out.decode(), time.monotonic() - start, target_path)


# dbt in a subprocess that imports dbt and parses the project at once, then waits for "go" on stdin
# before it runs the command on the parsed manifest (dbt's documented manifest reuse). Exit codes as dbt's.
_PREPARED = """
import json, sys
from dbt.cli.main import dbtRunner
parse_argv, run_argv = json.loads(sys.argv[1])
parsed = dbtRunner().invoke(parse_argv)
if sys.stdin.readline().strip() != "go":
    sys.exit(3)
res = dbtRunner(manifest=parsed.result if parsed.success else None).invoke(run_argv)
sys.exit(0 if res.success else 2 if res.exception is not None else 1)
"""


class PreparedRun:
    """A dbt command started ahead: its ~3-5 s of imports and parsing overlap whatever the caller waits
    for (the warehouse catching up); `go()` then runs it and returns the DbtRun."""

    def __init__(self, settings: Settings, args: list[str], *, project_dir: Path | None = None,
                 schema: str = "analytics", target: str = "transform", target_path: Path | None = None,
                 partial_parse: bool = False) -> None:
        flags, project_dir, self.target_path, env = _command(settings, project_dir, schema, target, target_path,
                                                             partial_parse)
        self.cmd = [dbt_executable(), *args, *flags]
        self.output = self.target_path / "dbt-output.log"
        self.start = time.monotonic()
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-c", _PREPARED, json.dumps([["parse", *flags],
                                                                                        [*args, *flags]])],
                                         stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         cwd=project_dir, text=True)

    def go(self, timeout: float = 300) -> DbtRun:
        try:
            self.proc.communicate("go\n", timeout=timeout)
            code = self.proc.returncode
        except subprocess.TimeoutExpired:
            self.cancel()
            code = -1
        out = self.output.read_text(errors="replace")
        if code == -1:
            out += f"\ndbt timed out after {timeout:.0f} s"
        return _result(self.cmd, code, out, time.monotonic() - self.start, self.target_path)

    def cancel(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
