"""Shared by the checker's tests: projects to check, the real CLI, and reading its JSON report."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, run_lab

FIXES = ROOT / "tests" / "fixes"


def index() -> dict[str, dict[str, Any]]:
    """Every patch of the library by name (reference, correct.*, wrong.*)."""
    doc = tomllib.loads((FIXES / "index.toml").read_text())
    out = {"reference": doc["reference"]}
    for group in ("correct", "wrong", "attack"):
        out.update({f"{group}.{name}": entry for name, entry in doc.get(group, {}).items()})
    return out


def shipped_project(dest: Path) -> Path:
    """The shipped dbt_project (git HEAD, so a colleague's edits in the working tree do not leak in)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD", "dbt_project"], capture_output=True)
    if archive.returncode == 0:
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    else:
        shutil.copytree(ROOT / "dbt_project", dest / "dbt_project",
                        ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    return dest / "dbt_project"


def patched_project(dest: Path, patch: str | None) -> Path:
    project = shipped_project(dest)
    if patch:
        # Only the dbt_project part: a patch that also tampers elsewhere is judged by `lab grade`.
        subprocess.run(["git", "apply", "--include=dbt_project/*", str(FIXES / patch)], cwd=dest, check=True)
    return project


def check(project: Path, out: Path, *args: str, env: dict[str, str] | None = None
          ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    proc = run_lab("check", "--project-dir", str(project), "--out", str(out), *args, check=False, env=env)
    report = out / "report.json"
    return proc, json.loads(report.read_text()) if report.exists() else None


def criteria(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Tests by criterion number; 7 is the regression guard (v3: it has no task_id). `lab check` reports
    leave criterion 1 out (only `lab grade` judges it)."""
    return {t.get("task_id") or 7: t for t in report["tests"]}


def not_reached(test: dict[str, Any]) -> bool:
    return (test.get("message") or "").startswith("not reached")


def assert_verdict(report: dict[str, Any], entry: dict[str, Any], output: str) -> None:
    tests = criteria(report)
    context = f"\n{json.dumps(report['tests'], indent=1, ensure_ascii=False)}\n{output[-3000:]}"
    assert report["status"] == entry["outcome"], context
    if entry["outcome"] == "pass":
        assert {2, 3, 4, 5, 6} <= set(tests) and all(tests[n]["status"] == "pass" for n in range(1, 7) if n in tests), \
            context
    else:
        caught = entry["caught_by"]
        for number in caught:
            assert tests[number]["status"] == "fail" and not not_reached(tests[number]), f"criterion {number}{context}"
        first = next(t for t in report["tests"] if t["required"] and t["status"] == "fail")
        assert first["task_id"] == caught[0], context
        if "message" in entry:
            assert entry["message"] in tests[caught[0]]["message"], context
        for number, phrase in entry.get("messages", {}).items():
            assert phrase in tests[int(number)]["message"], f"criterion {number}{context}"
    if "guard" in entry:
        assert tests[7]["earned"] >= entry["guard"], context
