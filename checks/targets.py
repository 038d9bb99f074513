"""What is graded: a git ref, a directory or a patch file — its dbt_project/ materialized in a folder of
the grader's own, and the files outside dbt_project/ that differ from the base (criterion 1)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from checks.outcome import Criterion, judged
from checks.trusted import git, resolve, toplevel
from lab.errors import ExitCode, LabError

PROJECT = "dbt_project"
MECHANISM = "file comparison with the base ref"
# Never part of a learner's work: caches, virtualenvs, the lab's data, build output.
_JUNK = re.compile(r"(^|/)(\.git|\.venv|venv|\.lab[^/]*|__pycache__|\.pytest_cache|\.ruff_cache|\.mypy_cache|"
                   r"[^/]+\.egg-info|reports|target|logs|node_modules)(/|$)|\.pyc$")


@dataclass
class Target:
    spec: str
    kind: str  # ref | dir | patch
    project: Path
    label: str
    tampered: list[str] = field(default_factory=list)
    compared: bool = True  # False: a bare dbt project was given, nothing outside it to compare
    commit: str | None = None

    def criterion1(self) -> Criterion:
        if self.tampered:
            shown = ", ".join(self.tampered[:5]) + (f" and {len(self.tampered) - 5} more" if len(self.tampered) > 5
                                                     else "")
            return judged(1, False, f"files outside dbt_project/ differ from the base (tampering): {shown}",
                          [MECHANISM], files=self.tampered)
        if not self.compared:
            return judged(1, True, "a bare dbt project was given: nothing outside it to compare", [MECHANISM])
        return judged(1, True, "only dbt_project/ differs from the base", [MECHANISM])


def _outside(paths: list[str]) -> list[str]:
    return sorted({p for p in paths if p and p != PROJECT and not p.startswith(PROJECT + "/")})


def materialize(spec: str, repo: Path, base_sha: str, work: Path) -> Target:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    path = Path(spec)
    if path.is_file():
        return _patch(spec, path.resolve(), repo, base_sha, work)
    if path.is_dir():
        return _directory(spec, path.resolve(), repo, base_sha, work)
    return _ref(spec, repo, base_sha, work)


def _ref(spec: str, repo: Path, base_sha: str, work: Path) -> Target:
    sha = resolve(repo, spec)
    archive = git(repo, "archive", sha, PROJECT, binary=True, check=False)
    if archive.returncode != 0:
        raise LabError(f"{spec} has no {PROJECT}/", "grade a ref of the lab's repository", ExitCode.USAGE)
    subprocess.run(["tar", "-x", "-C", str(work)], input=archive.stdout, check=True)
    # The learner's own changes: from where their branch left the base (the base may have moved on since).
    mb = git(repo, "merge-base", base_sha, sha, check=False)
    since = mb.stdout.strip() if mb.returncode == 0 and mb.stdout.strip() else base_sha
    changed = git(repo, "diff", "--name-only", "--no-renames", since, sha).stdout.splitlines()
    return Target(spec, "ref", work / PROJECT, f"{spec} ({sha[:12]})", _outside(changed), commit=sha)


def _blob_sha(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _directory(spec: str, path: Path, repo: Path, base_sha: str, work: Path) -> Target:
    if (path / "dbt_project.yml").exists():
        shutil.copytree(path, work / PROJECT, symlinks=True,
                        ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
        return Target(spec, "dir", work / PROJECT, str(path), compared=False)
    if not (path / PROJECT).is_dir():
        raise LabError(f"{spec} is neither a dbt project nor a checkout holding {PROJECT}/",
                       "give the repository folder or the dbt project folder", ExitCode.USAGE)
    # Symlinks stay symlinks: the checker's copy (checks/project.py) decides whether one may be followed.
    shutil.copytree(path / PROJECT, work / PROJECT, symlinks=True,
                    ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    base: dict[str, str] = {}
    for line in git(repo, "ls-tree", "-r", base_sha).stdout.splitlines():
        meta, name = line.split("\t", 1)
        base[name] = meta.split()[2]
    differ = [name for name, blob in base.items() if not name.startswith(PROJECT + "/")
              and (not (path / name).is_file() or _blob_sha(path / name) != blob)]
    present = _files(path)
    extra = [name for name in present if name not in base]
    return Target(spec, "dir", work / PROJECT, str(path), _outside(differ + extra))


def _files(path: Path) -> list[str]:
    """The files of a tree that a learner could have written: git's view when it is a work tree."""
    if toplevel(path) == path:
        out = subprocess.run(["git", "-C", str(path), "ls-files", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
        return [p for p in out if (path / p).is_file()]
    found = []
    for dirpath, dirnames, filenames in os.walk(path):
        here = Path(dirpath).relative_to(path)
        dirnames[:] = [d for d in dirnames if not _JUNK.search((here / d).as_posix())]
        found += [(here / f).as_posix() for f in filenames]
    return [f for f in found if not _JUNK.search(f)]


_DIFF_PATHS = re.compile(r"^(?:diff --git a/(\S+) b/(\S+)|--- a/(\S+)|\+\+\+ b/(\S+))", re.M)


def _patch(spec: str, patch: Path, repo: Path, base_sha: str, work: Path) -> Target:
    text = patch.read_text(errors="replace")
    paths = [p for m in _DIFF_PATHS.finditer(text) for p in m.groups() if p and p != "/dev/null"]
    if not paths:
        raise LabError(f"{spec} is not a patch (no `diff --git`, `---` or `+++` line in it)",
                       "give a patch made with `git diff BASE` (or a git ref, or a folder)", ExitCode.USAGE)
    tree = work / "tree"
    tree.mkdir()
    archive = git(repo, "archive", base_sha, binary=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    # A repository of its own, so `git apply` cannot climb to an enclosing checkout.
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    proc = subprocess.run(["git", "-C", str(tree), "apply", "--whitespace=nowarn", str(patch)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["?"])[0]
        raise LabError(f"{spec} does not apply to the base {base_sha[:12]}: {first}",
                       "make the patch against the base ref (`git diff BASE`)", ExitCode.USAGE)
    return Target(spec, "patch", tree / PROJECT, patch.name, _outside(paths))
