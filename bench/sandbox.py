"""The bench's own labs: a snapshot of the working tree each, their own instance (port block) and home.

Why snapshots: `lab reset` restores dbt_project/ and the bench edits a model before each reset. Run in the
checkout itself, that would rewrite files someone is working on. Each bench lab runs from a copy of what is
in the working tree when the bench starts (`.lab-bench-src/tree`, copied once per run, then into
`.lab-bench-src/<name>` for each lab: a git repository of its own with one commit, made by lab/fleet.py's
`copy_tree`), and every `lab` command of the bench runs from there
(`python -m lab` imports the snapshot's package). The snapshots live outside the labs' homes: a cold
`lab up` starts from `lab down --wipe`, which deletes the home.

Ports and homes come from lab/config.py (`instance_env`): the native lab is instance 94 (.lab-bench-native),
the docker lab instance 95 (.lab-bench-docker), the fleet instances 96–99 (.lab-bench-fleet-k). A learner's
lab (instance 0, .lab) and the tests' labs are never touched.
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
SNAPSHOTS = REPO / ".lab-bench-src"
INSTANCES = {"native": 94, "docker": 95}
FLEET_FIRST = 96  # the fleet's instances: 96, 97, … (at most 4: MAX_INSTANCE is 99)
GIT_ID = ["-c", "user.name=lab bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false"]
# What the bench's labs may take from the caller's environment among the lab's own settings.
_KEPT = ("LAB_CACHE_DIR", "LAB_PG_BINDIR", "LAB_NO_INSTALL")


def base_env() -> dict[str, str]:
    """The caller's environment less every lab setting (a learner's LAB_HOME, LAB_PORT_*, …) but the shared
    caches and the PostgreSQL location."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LAB_") or k in _KEPT}


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
    """One lab under measurement: `lab` commands run as a user runs them, from its snapshot."""

    def __init__(self, name: str, runtime: str, instance: int, home: Path, src: Path, *,
                 cache_dir: Path | None = None, maven_repo: Path | None = None) -> None:
        self.name = name
        self.runtime = runtime
        self.instance = instance
        self.home = home
        self.src = src
        self.cache_dir = cache_dir
        self.maven_repo = maven_repo

    @classmethod
    def for_runtime(cls, runtime: str, **kw) -> BenchLab:
        return cls(runtime, runtime, INSTANCES[runtime], REPO / f".lab-bench-{runtime}", SNAPSHOTS / runtime, **kw)

    # environment --------------------------------------------------------------------------------
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        from lab.config import instance_env

        env = {**base_env(), **instance_env(self.instance, self.home), "LAB_RUNTIME": self.runtime,
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
        if self.cache_dir is not None:
            env["LAB_CACHE_DIR"] = str(self.cache_dir)
        if self.maven_repo is not None:
            env["MAVEN_OPTS"] = f"{env.get('MAVEN_OPTS', '')} -Dmaven.repo.local={self.maven_repo}".strip()
        return {**env, **(extra or {})}

    def settings(self):  # -> lab.config.Settings
        from lab.config import settings

        return settings(self.src, environ=self.env())

    def lab(self):  # -> lab.stack.Lab
        from lab.stack import build

        return build(self.settings())

    # the snapshot -------------------------------------------------------------------------------
    def snapshot(self) -> None:
        """This lab's own copy of the bench's snapshot of the working tree (its own dbt_project/)."""
        from lab.fleet import copy_tree

        copy_tree(SNAPSHOTS / "tree", self.src, "bench snapshot of the working tree")

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(self.src), *GIT_ID, *args], capture_output=True, text=True,
                              check=check)

    def code_is_pristine(self) -> bool:
        return not self.git("status", "--porcelain", "--", "dbt_project").stdout.strip()

    def restore_code(self) -> None:
        self.git("checkout", "--", "dbt_project", check=False)
        self.git("clean", "-fdq", "--", "dbt_project", check=False)  # files a fix added

    # running lab commands -----------------------------------------------------------------------
    def run(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 900,
            module: str = "lab") -> Result:
        start = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                                  env=self.env(extra_env), cwd=self.src, timeout=timeout)
            code, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            code, out, err = -1, _text(exc.stdout), _text(exc.stderr) + f"\ntimed out after {timeout:.0f} s"
        return Result(args, code, out, err, time.monotonic() - start)

    def run_ok(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 900,
               module: str = "lab") -> Result:
        res = self.run(*args, extra_env=extra_env, timeout=timeout, module=module)
        if not res.ok:
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-25:])
            raise BenchError(f"`{module.replace('.', ' ')} {' '.join(args)}` exited {res.returncode}:\n{tail}")
        return res


def take_snapshot() -> str:
    """The working tree's files as git sees them (tracked, and untracked but not ignored), once for the whole
    run: both runtimes and the fleet measure the same code however the checkout changes meanwhile.

    dbt_project/ is the committed one (git HEAD), which is what `lab reset` restores in the checkout: the
    working tree's may hold a learner's edits or a fix a test has just written there, and the bench measures
    the shipped incident. Returns a note when the working tree's dbt_project/ differed."""
    from lab.fleet import copy_tree

    tree = SNAPSHOTS / "tree"
    copy_tree(REPO, tree, "bench snapshot of the working tree")
    changed = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "dbt_project"],
                             capture_output=True, text=True)
    if changed.returncode != 0 or not changed.stdout.strip():
        return ""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD", "dbt_project"], capture_output=True)
    if archive.returncode != 0:
        return "dbt_project/ differs from HEAD, and HEAD's could not be read: measured the working tree's"
    shutil.rmtree(tree / "dbt_project")
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    git = ["git", "-C", str(tree), *GIT_ID]
    subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-q", "--amend", "--no-edit"], check=True, capture_output=True)
    files = len(changed.stdout.strip().splitlines())
    return f"dbt_project/ of the working tree differed from HEAD ({files} path(s)): measured HEAD's, the shipped one"


def tree_id() -> str:
    """The commit of the checkout measured, `+dirty` when the working tree differs from it."""
    out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True)
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def wipe(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
