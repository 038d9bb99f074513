"""Fixtures of the checker's end-to-end tests: one running lab (tests/conftest.py), a git repository
whose base commit holds this tree (the trusted checker `lab grade` copies), a pristine lab when a test
needs the seeded figures."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_lab

GIT = ["git", "-c", "user.email=lab@example.invalid", "-c", "user.name=lab tests", "-c", "init.defaultBranch=main"]


@pytest.fixture(scope="session")
def base_repo(tmp_path_factory) -> Path:
    """A repository whose `main` is this working tree as it stands (checks/ included, even uncommitted)."""
    repo = tmp_path_factory.mktemp("repo")
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_bytes(src.read_bytes())
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "base"], check=True)
    return repo


def commit_branch(repo: Path, branch: str, edit) -> None:
    """A learner's branch off main: edit(repo) then commit."""
    subprocess.run([*GIT, "-C", str(repo), "checkout", "-q", "-B", branch, "main"], check=True)
    edit(repo)
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", branch], check=True)
    subprocess.run([*GIT, "-C", str(repo), "checkout", "-q", "main"], check=True)


@pytest.fixture(scope="module")
def pristine_lab(running_lab) -> Iterator:
    """The incident as it starts (default seed), the orders service paused so nothing drifts but the
    probes of the checks themselves. `--keep-code`: the repository's dbt_project/ is left alone."""
    run_lab("reset", "--keep-code")
    running_lab.orders.pause()
    yield running_lab
    running_lab.orders.resume()
