"""The instructor's path for real: three local "learner" repositories — the reference fix, a wrong fix, and
a wrong fix that also replaces the learner workflow with one that prints PASS and plants code in checks/ —
graded by `python -m checks roster` on the running lab, from the lab repository at its pinned commit. Then
the roll-up of the reports it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.checker.conftest import GIT
from tests.checker.helpers import FIXES
from tests.checker.test_grade import TAMPER
from tests.conftest import ROOT, TEST_ENV

pytestmark = pytest.mark.e2e

FAKE_WORKFLOW = """name: grade
on: [push]
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    steps:
      - run: echo "PASS (from the learner's own workflow)"
"""
TOKEN = "roster-token-that-must-not-leak"


def _learner(base_repo: Path, where: Path, edit) -> Path:
    """A learner's repository: their copy of the lab (a clone of the pinned commit), with their commits."""
    subprocess.run([*GIT, "clone", "-q", str(base_repo), str(where)], check=True)
    edit(where)
    subprocess.run([*GIT, "-C", str(where), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(where), "commit", "-qm", "my fix"], check=True)
    return where


def _apply(patch: str):
    def edit(repo: Path) -> None:
        subprocess.run(["git", "apply", str(FIXES / patch)], cwd=repo, check=True)
    return edit


def _wrong_and_tampering(repo: Path) -> None:
    _apply("wrong/hardcoded_total.patch")(repo)
    (repo / ".github" / "workflows" / "grade.yml").write_text(FAKE_WORKFLOW)
    init = repo / "checks" / "__init__.py"
    init.write_text(TAMPER + init.read_text())


def test_the_roster_grades_three_learners_and_tampering_changes_nothing(running_lab, base_repo, tmp_path) -> None:
    learners = tmp_path / "learners"
    repos = {"right": _learner(base_repo, learners / "right", _apply("reference/reference.patch")),
             "wrong": _learner(base_repo, learners / "wrong", _apply("wrong/hardcoded_total.patch")),
             "tamper": _learner(base_repo, learners / "tamper", _wrong_and_tampering)}
    roster = tmp_path / "roster.toml"
    roster.write_text("".join(f'[[learner]]\nid = "{name}"\nrepo = "{path}"\nref = "main"\n\n'
                              for name, path in repos.items()))
    out = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "checks", "roster", str(roster), "--out", str(out),
                           "--repo", str(base_repo), "--base", "main", "--no-guard"],
                          capture_output=True, text=True, cwd=ROOT, timeout=1800,
                          env={**os.environ, **TEST_ENV, "LAB_ROSTER_TOKEN": TOKEN})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    assert "TAMPERED CHECKER RAN" not in output and "from the learner's own workflow" not in output

    docs = {name: json.loads((out / name / "report.json").read_text()) for name in repos}
    tests = {name: {t["criterion"]: t for t in doc["tests"]} for name, doc in docs.items()}
    shown = {n: [(t["criterion"], t["status"], t["message"]) for t in d["tests"]] for n, d in docs.items()}
    context = json.dumps(shown, indent=1, ensure_ascii=False) + output[-3000:]
    assert {n: d["lab"]["verdict"] for n, d in docs.items()} == {"right": "pass", "wrong": "fail", "tamper": "fail"}, \
        context
    assert docs["right"]["status"] == "pass" and docs["right"]["score"] == docs["right"]["max_score"] == 6
    assert docs["wrong"]["score"] == docs["tamper"]["score"] == 0

    # the wrong fix is caught for what it is, the same way with or without the tampering
    assert tests["wrong"][1]["status"] == "pass"
    assert tests["wrong"][2]["status"] == "fail" and tests["wrong"][5]["status"] == "fail", context
    assert tests["tamper"][1]["status"] == "fail", context
    assert ".github/workflows/grade.yml" in tests["tamper"][1]["message"]
    assert "checks/__init__.py" in tests["tamper"][1]["message"]
    assert {n: t["status"] for n, t in tests["tamper"].items() if n != 1} == \
        {n: t["status"] for n, t in tests["wrong"].items() if n != 1}, context

    for name, doc in docs.items():
        lab = doc["lab"]
        assert (lab["learner"], lab["ref"], lab["commit"]) == \
            (name, "main", subprocess.run(["git", "-C", str(repos[name]), "rev-parse", "HEAD"], capture_output=True,
                                          text=True, check=True).stdout.strip())
        assert lab["time_to_fix_s"] is None and lab["hints_used"] is None  # not the learner's own lab
        assert lab["target"] == f"{repos[name]} @ main"  # not the grader's scratch folder
        suite = ET.parse(out / name / "report.xml").getroot()
        assert [c.get("name") for c in suite.iter("testcase")] == [t["name"] for t in doc["tests"]]
        for path in (out / name).iterdir():
            assert TOKEN not in path.read_text()
    _conforms(docs.values())

    summary = json.loads((out / "roster.json").read_text())
    assert [(s["learner"], s["verdict"], s["exit"]) for s in summary] == \
        [("right", "pass", 0), ("wrong", "fail", 1), ("tamper", "fail", 1)]
    table = (out / "rollup.md").read_text()
    assert "3 learner(s): 1 pass, 2 fail, 0 error" in table
    assert "| tamper | fail | 0/6 | 1 only dbt\\_project/, 2 dbt build" in table, table
    page = (out / "rollup.html").read_text()
    # the learners' times to fix are on their own labs, not in the instructor's run: no bars, and it says so
    assert "No report carries a time to fix yet." in page and "<td>tamper</td>" in page

    # and the facilitator's command on that folder, as `lab rollup` runs it
    again = subprocess.run([sys.executable, "-m", "checks", "rollup", str(out), "--out", str(tmp_path / "rollup")],
                           capture_output=True, text=True, cwd=ROOT, timeout=120, env={**os.environ, **TEST_ENV})
    assert again.returncode == 0 and "| right | pass | 6/6 |" in again.stdout, again.stdout + again.stderr


def _conforms(docs) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).with_name("report.schema.json")).read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    for doc in docs:
        assert [e.message for e in validator.iter_errors(doc)] == []
