"""The learner workflow's points for GitHub Classroom: base64 JSON in the shape the reporter
(classroom-resources/autograding-grading-reporter) reads from `<ID>_RESULTS`, worth the report's score."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from checks import classroom, reports
from tests.conftest import ROOT
from tests.grading.cases import CASES

pytestmark = pytest.mark.unit

TEST_KEYS = {"name", "status", "message", "test_code", "score"}


def notify_classroom_points(runner_results: list[dict]) -> tuple[float, float]:
    """What the reporter sends Classroom (src/notify-classroom.js): for each runner whose max_score is set,
    max += results.max_score and total += each tests[].score."""
    total = maximum = 0.0
    for results in runner_results:
        if not results.get("max_score"):
            continue
        maximum += results["max_score"]
        total += sum(t["score"] for t in results["tests"])
    return total, maximum


def reporter_reads(env: dict[str, str], runners: str) -> list[dict]:
    """src/main.js parseRunnerResults: process.env[`${runner.trim().toUpperCase()}_RESULTS`], base64 → JSON."""
    return [json.loads(base64.b64decode(env[f"{r.strip().upper()}_RESULTS"]).decode("utf-8"))
            for r in runners.split(",")]


def _report(tmp_path: Path, case: str) -> tuple[Path, dict]:
    files = reports.write(CASES[case](), tmp_path / case)
    return files[0], json.loads(files[0].read_text())


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("per_criterion", [False, True])
def test_points_are_the_report_score(tmp_path: Path, case: str, per_criterion: bool) -> None:
    path, doc = _report(tmp_path, case)
    encoded = classroom.encode(classroom.for_report(path, per_criterion=per_criterion))
    [results] = reporter_reads({"GRADE_RESULTS": encoded}, "grade")
    assert results["status"] in ("pass", "fail", "error") and results["status"] == doc["status"]
    assert all(set(t) >= TEST_KEYS for t in results["tests"]) and results["tests"]
    assert notify_classroom_points([results]) == (doc["score"], doc["max_score"])
    if doc["status"] != "pass":
        assert all(t["score"] == 0 for t in results["tests"])
    if per_criterion:
        assert [t["name"] for t in results["tests"]] == [t["name"] for t in doc["tests"]]
    else:
        [test] = results["tests"]
        assert test["status"] == doc["status"]  # the reporter's passed-tests totals agree with the points
        assert "authoritative grade comes from your instructor's run" in test["message"]


def test_a_failing_fix_scores_zero_not_a_share(tmp_path: Path) -> None:
    path, doc = _report(tmp_path, "failed")
    assert doc["lab"]["points_earned"] == 5
    results = classroom.for_report(path)
    assert notify_classroom_points([results]) == (0, 10)
    assert "❌ 3. the tile equals the ERP" in results["tests"][0]["message"]
    assert "Points count only when every required criterion passes." in results["tests"][0]["message"]


def test_a_passing_fix_gets_every_point_it_earned(tmp_path: Path) -> None:
    path, _ = _report(tmp_path, "passed")
    assert notify_classroom_points([classroom.for_report(path)]) == (9, 10)


def test_no_report_is_an_error_worth_zero_of_the_usual_points(tmp_path: Path) -> None:
    results = classroom.for_report(tmp_path / "report.json", missing_ok=True)
    assert results["status"] == "error" and results["tests"][0]["status"] == "error"
    assert notify_classroom_points([results]) == (0, 10)  # 6 criteria + 4 guard variants
    assert "no report was written" in results["tests"][0]["message"]
    (tmp_path / "report.json").write_text("{not json")
    assert classroom.for_report(tmp_path / "report.json", missing_ok=True)["status"] == "error"
    with pytest.raises(FileNotFoundError):
        classroom.for_report(tmp_path / "nope.json")


def test_the_command_prints_one_github_output_line_with_the_standard_library_only(tmp_path: Path) -> None:
    path, doc = _report(tmp_path, "passed")
    probe = ("import runpy, sys; sys.argv = ['x', sys.argv[1], '--output-name', 'result']; "
             "runpy.run_module('checks.classroom', run_name='__main__')")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", probe + "\n", str(path)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()
    name, _, value = line.partition("=")
    assert name == "result"
    assert notify_classroom_points(reporter_reads({"GRADE_RESULTS": value}, "grade")) == (9, 10)
    # nothing but the standard library and checks.outcome/checks.classroom: it must work when `make venv` failed
    check = ("import sys, checks.classroom; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
             "('click', 'psycopg', 'lab', 'rich', 'httpx', 'dbt')); print(bad)")
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_python_m_checks_classroom_is_the_same_command(tmp_path: Path) -> None:
    path, _ = _report(tmp_path, "failed")
    proc = subprocess.run([sys.executable, "-m", "checks", "classroom", str(path), "--json"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tests"][0]["score"] == 0
    bad = subprocess.run([sys.executable, "-m", "checks.classroom", str(tmp_path / "missing.json")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 64 and "report.json" in bad.stderr
