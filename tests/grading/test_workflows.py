"""What the two workflows must do, read from their YAML (a real GitHub run is the only full proof; actionlint
and zizmor run in tools/lint-workflows.sh)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.unit

LEARNER = ROOT / ".github" / "workflows" / "grade.yml"
INSTRUCTOR = ROOT / ".github" / "instructor" / "grade-learners.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.get("on", doc.get(True))  # YAML 1.1 reads the key `on` as true
    return doc


def _steps(doc: dict) -> list[tuple[str, dict]]:
    return [(job, step) for job, spec in doc["jobs"].items() for step in spec.get("steps", [])]


@pytest.mark.parametrize("path", [LEARNER, INSTRUCTOR], ids=["learner", "instructor"])
def test_actions_are_pinned_by_commit_and_checkouts_keep_no_credentials(path: Path) -> None:
    doc, text = _load(path), path.read_text()
    assert doc["permissions"] == {}  # every job asks for what it needs, nothing by default
    for job, spec in doc["jobs"].items():
        assert spec.get("permissions"), job
    for _, step in _steps(doc):
        uses = step.get("uses")
        if not uses:
            continue
        line = next(ln for ln in text.splitlines() if f"uses: {uses}" in ln)
        if "zizmor: ignore[unpinned-uses]" in line:
            assert uses.startswith("classroom-resources/autograding-grading-reporter@")  # the one documented exception
            continue
        assert PINNED.match(uses), uses
        assert re.search(r"# v\d+\.\d+\.\d+", line), f"the tag of {uses} is not named beside it"
        if uses.startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_the_learner_workflow_is_fast_feedback_that_reports_points_to_classroom() -> None:
    doc = _load(LEARNER)
    on = doc["on"]
    assert set(on) == {"push", "repository_dispatch", "workflow_dispatch"}
    assert not (on["push"] or {}).get("branches-ignore") and not (on["push"] or {}).get("branches")  # main too
    steps = dict((s.get("id") or s.get("name"), s) for _, s in _steps(doc))
    assert "lab grade HEAD --base" in steps["grade"]["run"]  # a thin wrapper over `lab grade`
    assert "python -m checks.classroom" in steps["points"]["run"] and steps["points"]["if"] == "always()"
    assert steps["points"]["working-directory"] == "${{ env.TRUSTED }}"  # not the pushed tree's checks/
    assert doc["jobs"]["grade"]["outputs"]["result"] == "${{ steps.points.outputs.result }}"
    reporter = doc["jobs"]["run-autograding-tests"]
    assert reporter["name"] == "run-autograding-tests"  # the check run the reporter looks for
    assert reporter["permissions"] == {"checks": "write", "actions": "read"}
    [step] = reporter["steps"]
    assert step["env"] == {"GRADE_RESULTS": "${{ needs.grade.outputs.result }}"} and step["with"]["runners"] == "grade"
    summary = next(s for _, s in _steps(doc) if s.get("name") == "Job summary")
    assert "the authoritative grade comes from" in summary["run"] and summary["if"] == "always()"


@pytest.mark.parametrize("path", [LEARNER, INSTRUCTOR], ids=["learner", "instructor"])
def test_caches_are_saved_even_when_the_grade_fails(path: Path) -> None:
    steps = [s for _, s in _steps(_load(path)) if str(s.get("uses", "")).startswith("actions/cache")]
    assert [s["uses"].split("@")[0] for s in steps] == ["actions/cache/restore", "actions/cache/save"]
    assert steps[1]["if"].startswith("always()")
    assert steps[1]["with"]["key"] == "${{ steps.jars.outputs.cache-primary-key }}"


def test_the_instructor_workflow_takes_only_the_roster_and_the_pinned_lab() -> None:
    doc = _load(INSTRUCTOR)
    assert {"schedule", "workflow_dispatch", "repository_dispatch"} <= set(doc["on"])
    checkouts = [s for _, s in _steps(doc) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert len(checkouts) == 2  # this repository (the roster) and the lab; learners' repositories never
    lab = checkouts[1]["with"]
    assert lab == {"repository": "${{ env.LAB_REPOSITORY }}", "ref": "${{ env.LAB_REF }}", "path": "lab-checkout",
                   "persist-credentials": False}
    roster = next(s for _, s in _steps(doc) if s.get("id") == "roster")
    assert '.venv/bin/python -m checks roster "$GITHUB_WORKSPACE/$ROSTER"' in roster["run"]
    assert "${{" not in roster["run"]  # inputs reach the script through the environment only
    assert roster["env"]["LAB_ROSTER_TOKEN"] == "${{ secrets.LAB_ROSTER_TOKEN }}"
    text = INSTRUCTOR.read_text()
    assert text.count("← fill in") >= 4
