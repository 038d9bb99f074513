"""The grader runs from a trusted copy of the base ref, never from the learner's tree.

`git archive <base>` of lab/, seed/, stack/, checks/, dbt_project/ and pyproject.toml goes to a folder
under the lab's data dir (kept and reused per base commit: the lab's services run from it after the
trusted reset), and `python -m checks grade …` runs there with PYTHONPATH and cwd pointing at it, so a
learner's edits to checks/ or lab/ cannot reach the verdict.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lab.config import Settings
from lab.errors import ExitCode, LabError

PATHS = ("lab", "seed", "stack", "checks", "dbt_project", "pyproject.toml")
MARK = "CHECKS_TRUSTED_ROOT"


def this_root() -> Path:
    return Path(__file__).resolve().parent.parent


def is_trusted() -> bool:
    return os.environ.get(MARK) == str(this_root())


def git(repo: Path, *args: str, check: bool = True, binary: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=not binary)
    if check and proc.returncode != 0:
        err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode(errors="replace")
        raise LabError(f"`git {' '.join(args)}` failed: {err.strip().splitlines()[-1] if err.strip() else '?'}",
                       "check the ref names and that --repo is a git checkout", ExitCode.USAGE)
    return proc


def resolve(repo: Path, ref: str) -> str:
    proc = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if proc.returncode != 0:
        raise LabError(f"{ref!r} is not a commit in {repo}", "name a branch, tag or commit (e.g. `--base origin/main`)",
                       ExitCode.USAGE)
    return proc.stdout.strip()


def toplevel(path: Path) -> Path | None:
    proc = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    return Path(proc.stdout.strip()) if proc.returncode == 0 else None


def prepare(repo: Path, sha: str, settings: Settings) -> Path:
    dest = settings.lab_dir / "grade" / f"trusted-{sha[:12]}"
    if (dest / ".complete").exists():
        return dest
    present = set(git(repo, "ls-tree", "--name-only", sha).stdout.split())
    if "checks" not in present:
        raise LabError(f"the base {sha[:12]} has no checks/ (the checker)", "grade against a base that includes it",
                       ExitCode.USAGE)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    archive = git(repo, "archive", sha, *[p for p in PATHS if p in present], binary=True)
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
    (tmp / ".complete").write_text(sha + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def reexec(root: Path, argv: list[str], settings: Settings) -> int:
    env = {**os.environ, "PYTHONPATH": str(root), MARK: str(root), "LAB_HOME": str(settings.lab_dir)}
    env.pop("PYTHONHOME", None)
    return subprocess.run([sys.executable, "-m", "checks", *argv], cwd=root, env=env).returncode


def verify_self() -> None:
    """In the trusted process, the lab and checks packages must both come from the trusted copy."""
    import lab

    root = this_root()
    if Path(lab.__file__).resolve().parent.parent != root:
        raise LabError(f"the grader imported lab/ from {Path(lab.__file__).parent}, not from its trusted copy {root}",
                       "this is a bug in the lab: report it", ExitCode.LAB_UNHEALTHY)
