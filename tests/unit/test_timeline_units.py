"""The pieces of the incident timeline that need no servers: what an edit is, how events read."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import timeline, watcher

pytestmark = pytest.mark.unit


def test_a_snapshot_sees_the_learners_files_and_not_dbts_output(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("select 1")
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "run_results.json").write_text("{}")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "dbt.log").write_text("x")
    before = watcher.snapshot(tmp_path)
    assert list(before) == ["models/a.sql"]
    (tmp_path / "models" / "a.sql").write_text("select 1, refunded_at")
    after = watcher.snapshot(tmp_path)
    assert before != after and watcher._mentions(tmp_path, ["models/a.sql"], "refunded_at")


@pytest.mark.parametrize(("event", "text"), [
    ({"kind": "hint", "number": 2}, "hint 2"),
    ({"kind": "edit", "files": ["models/a.sql", "models/b.sql", "models/c.yml", "tests/d.sql"]},
     "edited models/a.sql, models/b.sql, models/c.yml (+1)"),
    ({"kind": "check", "phase": "verdict", "status": "fail", "failed": [3, 4]}, "check: FAIL (criteria [3, 4] failed)"),
    ({"kind": "check", "phase": "verdict", "status": "pass", "failed": []}, "check: PASS"),
    ({"kind": "detect", "how": "edit", "database": "models/staging/stg_orders.sql"},
     "first touch of refunded_at: your edit of models/staging/stg_orders.sql"),
    ({"kind": "dbt", "command": "build", "status": "success"}, "your `dbt build`: success"),
])
def test_each_event_reads_as_a_line(event: dict, text: str) -> None:
    assert timeline._describe(event) == text


def test_durations_read_the_same_everywhere() -> None:
    from lab.clock import fmt_duration

    assert [fmt_duration(s) for s in (None, 4.6, 59.4, 60, 372, 3599.4, 6512.8)] == \
        ["unknown", "5 s", "59 s", "1 min 00 s", "6 min 12 s", "59 min 59 s", "1 h 48 min"]
    assert fmt_duration(None, missing="—") == "—"
