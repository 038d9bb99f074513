"""Every patch of tests/fixes gets its verdict on the criterion that must decide it (rustlings-style:
the checker checks itself). Run against one real lab, reset once, with the orders service paused so the
only activity is each check's own live probe."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest

from tests.checker.helpers import FIXES, assert_verdict, check, criteria, index, patched_project, shipped_project
from tests.conftest import run_lab

pytestmark = pytest.mark.e2e

ENTRIES = index()
# order_id_list first: its ids are the seeded v2 refunds, so it meets criterion 3 only before any probe has
# refunded more orders — which is exactly what makes the probe (criterion 4) the check that catches it.
CHECKED = ["wrong.order_id_list"] + [n for n, e in ENTRIES.items()
                                     if e.get("mode", "check") == "check" and n != "wrong.order_id_list"]
GRADED = [n for n, e in ENTRIES.items() if e.get("mode") == "grade"]


@pytest.mark.parametrize("name", CHECKED)
def test_lab_check_verdict(pristine_lab, tmp_path, name: str) -> None:
    entry = ENTRIES[name]
    project = patched_project(tmp_path / "tree", entry["patch"])
    # The regression guard is scored, not required: run it only where the entry expects a score.
    args = [] if "guard" in entry else ["--no-guard"]
    env = {entry["secret"]: secrets.token_hex(16)} if "secret" in entry else {}
    if "side_effect" in entry:
        Path(entry["side_effect"]).unlink(missing_ok=True)
    proc, report = check(project, tmp_path / "out", *args, env=env)
    assert report is not None, proc.stdout + proc.stderr
    assert proc.returncode == (0 if entry["outcome"] == "pass" else 1), proc.stdout + proc.stderr
    assert_verdict(report, entry, proc.stdout + proc.stderr)
    for value in env.values():  # the grader's environment reaches neither the console nor a report
        assert value not in proc.stdout + proc.stderr
        assert all(value not in f.read_text() for f in (tmp_path / "out").iterdir())
    if "side_effect" in entry:
        assert not Path(entry["side_effect"]).exists(), "learner SQL ran a program on the grading machine"
    if entry.get("role_settings_cleared"):
        with pristine_lab.warehouse.connect("warehouse") as conn:
            left = conn.execute("select setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole "
                                "where r.rolname like 'lab\\_%'").fetchall()
        assert left == []


def test_untouched_lab_fails_with_the_delta(pristine_lab, tmp_path) -> None:
    proc, report = check(shipped_project(tmp_path / "tree"), tmp_path / "out", "--no-guard")
    assert proc.returncode == 1
    tile = criteria(report)[3]
    assert tile["status"] == "fail"
    # Each earlier check's probe refunded and cancelled a few orders: the figures drift a little from the seed's.
    assert re.fullmatch(r"tile \$4,[12]\d\d,\d{3}\.\d\d ≠ ERP \$3,[56]\d\d,\d{3}\.\d\d \(Δ \+\$5\d\d,\d{3}\.\d\d\)",
                        tile["message"]), tile["message"]
    assert "RESULT: FAIL" in proc.stdout


@pytest.mark.parametrize("name", GRADED)
def test_lab_grade_verdict(pristine_lab, base_repo, tmp_path, name: str) -> None:
    entry = ENTRIES[name]
    out = tmp_path / "out"
    proc = run_lab("grade", str(FIXES / entry["patch"]), "--base", "main", "--repo", str(base_repo), "--out", str(out),
                   "--no-reset", "--no-guard", check=False)
    report = json.loads((out / "report.json").read_text())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_verdict(report, entry, proc.stdout + proc.stderr)
