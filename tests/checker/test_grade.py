"""`lab grade` judges with the trusted checker of the base, whatever a learner's branch did to checks/,
and writes the three reports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.checker.conftest import commit_branch
from tests.checker.helpers import FIXES
from tests.conftest import run_lab

pytestmark = pytest.mark.e2e

# If the learner's checks/ ever ran, it would report a pass (and no real reports).
TAMPER = ('import sys\nif "grade" in sys.argv:\n    print("TAMPERED CHECKER RAN")\n    sys.exit(0)\n')


def _fix_and_tamper(repo: Path) -> None:
    subprocess.run(["git", "apply", str(FIXES / "reference" / "reference.patch")], cwd=repo, check=True)
    init = repo / "checks" / "__init__.py"
    init.write_text(TAMPER + init.read_text())


def test_grade_of_a_ref_that_tampers_with_checks_uses_the_trusted_checker(running_lab, base_repo, tmp_path) -> None:
    commit_branch(base_repo, "learner-tamper", _fix_and_tamper)
    out = tmp_path / "reports"
    proc = run_lab("grade", "learner-tamper", "--base", "main", "--repo", str(base_repo), "--out", str(out),
                   "--no-guard", check=False)
    output = proc.stdout + proc.stderr
    assert "TAMPERED CHECKER RAN" not in output
    assert proc.returncode == 1, output
    assert "lab reset to seed" in output  # the trusted reset ran before grading

    report = json.loads((out / "report.json").read_text())
    assert report["version"] == 3 and report["status"] == "fail"
    tests = {t["task_id"]: t for t in report["tests"]}
    assert tests[1]["status"] == "fail" and "checks/__init__.py" in tests[1]["message"]
    assert all(tests[n]["status"] == "pass" for n in range(2, 7)), json.dumps(report["tests"], indent=1)
    assert all({"name", "status", "score", "max_score"} <= set(t) for t in report["tests"])
    lab = report["lab"]
    assert lab["variant_seed"] == 516 and lab["probe"]["seed"] and "hints_used" in lab and "time_to_fix_s" in lab

    suite = ET.parse(out / "report.xml").getroot()
    assert suite.tag == "testsuite" and suite.get("failures") == "1"
    assert (out / "summary.md").read_text().startswith("## The $516k Gap — grade of `learner-tamper")
