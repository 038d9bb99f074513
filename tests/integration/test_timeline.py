"""The incident timeline on the real stack: what the learner does is recorded on the lab clock — a hint, an
edit of dbt_project/, the first query touching refunded_at (time to detect), a check and its verdict — and
`lab debrief` shows it beside the pipeline's own events; the reports carry time to detect and attempts."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from tests.checker.helpers import check, shipped_project
from tests.conftest import ROOT, TEST_ENV, run_lab

pytestmark = pytest.mark.integration


def wait_for_event(lab, kind: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = lab.session.first(kind)
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"no {kind!r} event within {timeout} s: {lab.session.events()}")


def test_the_learners_steps_are_on_the_timeline(running_lab, tmp_path) -> None:
    lab = running_lab
    run_lab("reset", "--keep-code")  # a new incident: a new clock, nothing detected yet
    assert lab.session.first("detect") is None

    run_lab("hint")
    probe_file = ROOT / "dbt_project" / "analyses" / "timeline_probe.sql"
    probe_file.parent.mkdir(exist_ok=True)
    try:
        probe_file.write_text("-- a learner's scratch query\nselect 1 as x\n")
        edit = wait_for_event(lab, "edit")
        assert "analyses/timeline_probe.sql" in edit["files"]
    finally:
        probe_file.unlink()
        if not any(probe_file.parent.iterdir()):
            probe_file.parent.rmdir()

    psql = subprocess.run(["bash", "-c", "bin/lab psql shop -c 'select count(*) from orders where refunded_at is "
                                         "not null'"], cwd=ROOT, env={**os.environ, **TEST_ENV},
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert psql.returncode == 0, psql.stdout + psql.stderr
    detect = wait_for_event(lab, "detect")
    assert detect["how"] == "query" and detect["user"] == "oncall" and "refunded_at" in detect["query"]

    proc, report = check(shipped_project(tmp_path / "tree"), tmp_path / "out", "--no-guard")
    assert proc.returncode == 1 and report is not None
    facts = report["lab"]
    assert facts["time_to_detect_s"] is not None and facts["time_to_detect_s"] >= 0
    assert facts["attempts"] == 1 and facts["hints_used"] == 1

    out = run_lab("debrief").stdout
    for phrase in ("hint 1", "edited analyses/timeline_probe.sql", "first query touching refunded_at",
                   "check: FAIL", "time to detect:", "checks: 1"):
        assert phrase in out, out
    verdicts = [e for e in lab.session.events() if e["kind"] == "check" and e.get("phase") == "verdict"]
    assert [v["status"] for v in verdicts] == ["fail"] and 3 in verdicts[0]["failed"]
    assert json.loads(json.dumps(verdicts[0], default=str))  # the events are plain data
