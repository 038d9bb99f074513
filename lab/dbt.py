"""Run dbt the way the lab trusts: its own profile and roles, a fresh target path, no partial parse.

dbt runs in a subprocess: the learner's Jinja cannot touch the lab's state, and every run is isolated
(dbt's in-process runner keeps global state between invocations). The subprocess gets an environment of
its own (`dbt_env`): the learner's Jinja can read environment variables (`env_var`), so nothing of the
caller's environment — a CI token, a password — is passed on. Every flag that decides where dbt reads
and writes, or how it reports, is given on the command line, which beats the project's `flags:`.
"""

from __future__ import annotations

import json
import os
import shutil
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


def write_profile(settings: Settings, schema: str, dbname: str = "warehouse") -> Path:
    """The lab's own profiles.yml (never the one in the learner's tree), in a folder of its own."""
    folder = settings.lab_dir / "dbt" / (f"profile-{schema}" if dbname == "warehouse" else f"profile-{dbname}")
    folder.mkdir(parents=True, exist_ok=True)

    def target(user: str) -> dict[str, Any]:
        return {"type": "postgres", "host": LOOPBACK, "port": settings.ports["warehouse"], "user": user,
                "password": "", "dbname": dbname, "schema": schema, "threads": 4, "connect_timeout": 5}

    doc = {PROFILE: {"target": "transform", "outputs": {"transform": target(TRANSFORM_ROLE),
                                                        "test": target(TEST_ROLE)}}}
    (folder / "profiles.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def dbt_executable() -> str:
    exe = Path(sys.executable).parent / "dbt"
    return str(exe) if exe.exists() else "dbt"


def _command(settings: Settings, project_dir: Path | None, schema: str, target: str, target_path: Path | None,
             partial_parse: bool = False, dbname: str = "warehouse") -> tuple[list[str], Path, Path, dict[str, str]]:
    """The flags every dbt command of the lab gets, the project folder, the target path and the env."""
    project_dir = project_dir or settings.root / "dbt_project"
    profiles = write_profile(settings, schema, dbname)
    target_path = target_path or settings.lab_dir / "dbt" / f"target-{schema}-{int(time.time() * 1000)}"
    target_path.mkdir(parents=True, exist_ok=True)
    flags = ["--project-dir", str(project_dir), "--profiles-dir", str(profiles), "--profile", PROFILE,
             "--target", target, "--target-path", str(target_path), "--log-path", str(target_path / "logs"),
             "--partial-parse" if partial_parse else "--no-partial-parse", "--no-use-colors"]
    flags += ["--write-json", "--log-format", "text", "--no-send-anonymous-usage-stats", "--no-version-check"]
    return flags, project_dir, target_path, dbt_env(target_path)


# What a dbt subprocess may see of the caller's environment: enough to run, nothing that identifies or
# authorises anyone.
_PASSED_ON = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")


def dbt_env(home: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSED_ON if k in os.environ}
    env.update({"HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1",
                "PYTHONDONTWRITEBYTECODE": "1"})
    return env


def _result(cmd: list[str], code: int, out: str, elapsed: float, target_path: Path) -> DbtRun:
    result = DbtRun(cmd, code, out, elapsed, target_path)
    rr = target_path / "run_results.json"
    if rr.exists():
        result.results = json.loads(rr.read_text()).get("results", [])
    return result


def run(settings: Settings, args: list[str], *, project_dir: Path | None = None, schema: str = "analytics",
        target: str = "transform", target_path: Path | None = None, timeout: float = 300,
        dbname: str = "warehouse") -> DbtRun:
    flags, project_dir, target_path, env = _command(settings, project_dir, schema, target, target_path,
                                                    dbname=dbname)
    cmd = [dbt_executable(), *args, *flags]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=project_dir)
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out = -1, f"{exc.stdout or ''}{exc.stderr or ''}\ndbt timed out after {timeout:.0f} s"
    return _result(cmd, code, out if isinstance(out, str) else out.decode(), time.monotonic() - start, target_path)


# One dbt subprocess for several commands: it imports dbt once, parses each project the first time a
# command names it (dbt's documented manifest reuse), and runs each command it reads on stdin as
# {"parse": [...], "run": [...], "key": project}, printing a marker with the command's exit code (as dbt's:
# 0 ok, 1 failures, 2 error) after each. A project's commands reuse the manifest parsed for its first
# command's target; what differs between the lab's targets is only the role they connect as.
_SESSION = """
import json, sys
from dbt.cli.main import dbtRunner
manifests = {}
first = json.loads(sys.argv[1])
if first:
    parsed = dbtRunner().invoke(first["parse"])
    manifests[first["key"]] = parsed.result if parsed.success else None
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd is None:
        break
    if cmd["key"] not in manifests:
        parsed = dbtRunner().invoke(cmd["parse"])
        manifests[cmd["key"]] = parsed.result if parsed.success else None
    if cmd["run"] is None:  # parse only
        print("\\n" + sys.argv[2], 0 if manifests[cmd["key"]] is not None else 2, flush=True)
        continue
    res = dbtRunner(manifest=manifests[cmd["key"]]).invoke(cmd["run"])
    sys.stdout.flush()
    print("\\n" + sys.argv[2], 0 if res.success else 2 if res.exception is not None else 1, flush=True)
"""
_DONE = "@@lab-dbt-step-done"


class Session:
    """dbt started ahead of need: its ~3-5 s of imports (and the parse of `project_dir`, if given) overlap
    whatever the caller waits for, and each later command (`run`) skips them. Commands run one at a time, in
    the order asked; a command may name another project (and schema): it is parsed once, when first named."""

    def __init__(self, settings: Settings, *, project_dir: Path | None = None, schema: str = "analytics",
                 target: str = "transform", work: Path | None = None, partial_parse: bool = False,
                 parse_now: bool = True, nice: int = 0) -> None:
        self.settings, self.schema, self.partial_parse = settings, schema, partial_parse
        self.work = work or settings.lab_dir / "dbt" / f"session-{schema}-{int(time.time() * 1000)}"
        flags, self.project_dir, parse_path, env = _command(settings, project_dir, schema, target,
                                                            self.work / "parse", partial_parse)
        self.output = self.work / "dbt-output.log"
        self.steps = 0
        self.start = time.monotonic()
        first = {"key": str(self.project_dir), "parse": ["parse", *flags]} if parse_now else None
        with open(self.output, "wb") as out:
            # nice: a session whose work can wait (the regression guard) yields the CPU to the one that cannot.
            niced = ["nice", "-n", str(nice)] if nice and shutil.which("nice") else []
            self.proc = subprocess.Popen([*niced, sys.executable, "-c", _SESSION, json.dumps(first), _DONE],
                                         stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         cwd=self.work, text=True)

    def parse(self, project_dir: Path, schema: str, target_path: Path, timeout: float = 300, *,
              key: str | None = None, partial: bool = False) -> bool:
        """Parse a project ahead (no SQL runs: nothing of the learner's reaches the database). `key` names this
        parse for later commands; with `partial`, dbt re-parses only the files changed since the last parse
        into the same target path (a project whose few files are swapped between runs)."""
        return self.run([], target_path=target_path, timeout=timeout, project_dir=project_dir, schema=schema,
                        parse_only=True, key=key, partial=partial).ok

    def run(self, args: list[str], *, target: str = "transform", target_path: Path | None = None,
            timeout: float = 300, project_dir: Path | None = None, schema: str | None = None,
            parse_only: bool = False, key: str | None = None, partial: bool = False) -> DbtRun:
        project_dir = project_dir or self.project_dir
        schema = schema or self.schema
        target_path = target_path or self.work / f"step-{self.steps + 1}"
        flags, _, target_path, _ = _command(self.settings, project_dir, schema, target, target_path,
                                            self.partial_parse)
        parse_flags, _, _, _ = _command(self.settings, project_dir, schema, target,
                                        target_path if partial else target_path / "parse",
                                        self.partial_parse or partial)
        cmd = [dbt_executable(), *args, *flags]
        started, offset = time.monotonic(), self.output.stat().st_size
        code: int | None = None
        if self.proc.poll() is None:
            self.steps += 1
            try:
                self.proc.stdin.write(json.dumps({"key": key or str(project_dir), "parse": ["parse", *parse_flags],
                                                  "run": None if parse_only else [*args, *flags]}) + "\n")
                self.proc.stdin.flush()
                code = self._wait_done(timeout)
            except (BrokenPipeError, OSError):
                code = None
        with open(self.output, "rb") as fh:
            fh.seek(offset)
            out = fh.read().decode(errors="replace").replace(_DONE, "").rstrip()
        if code is None:
            code = -1 if self.proc.returncode is None or self.proc.returncode < 0 else 2
            if code == -1:
                out += f"\ndbt timed out after {timeout:.0f} s"
        return _result(cmd, code, out, time.monotonic() - started, target_path)

    def _wait_done(self, timeout: float) -> int | None:
        """The exit code of the step just sent, or None when dbt died or ran out of time (it is then killed:
        a session with a step still running cannot take the next one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output.read_text(errors="replace")
            markers = [ln for ln in text.splitlines() if ln.startswith(_DONE)]
            if len(markers) >= self.steps:
                return int(markers[self.steps - 1].split()[-1])
            if self.proc.poll() is not None:
                return None
            time.sleep(0.05)
        self.cancel()
        return None

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("null\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                self.cancel()

    def cancel(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PreparedRun:
    """One dbt command started ahead (a Session of one step): `go()` runs it and returns the DbtRun."""

    def __init__(self, settings: Settings, args: list[str], *, project_dir: Path | None = None,
                 schema: str = "analytics", target: str = "transform", target_path: Path | None = None,
                 partial_parse: bool = False) -> None:
        self.args, self.target, self.target_path = args, target, target_path
        self.session = Session(settings, project_dir=project_dir, schema=schema, target=target,
                               work=target_path, partial_parse=partial_parse)

    def go(self, timeout: float = 300) -> DbtRun:
        try:
            return self.session.run(self.args, target=self.target, target_path=self.target_path, timeout=timeout)
        finally:
            self.session.close()

    def cancel(self) -> None:
        self.session.cancel()
