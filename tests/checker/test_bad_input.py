"""Bad input gives one clear line: a check before `lab up`, a model that fails in the database (file and
line), a model slower than the timeout (criterion 2, and nothing left running)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.checker.helpers import check, criteria, shipped_project
from tests.conftest import ROOT, TEST_ENV


@pytest.mark.unit
def test_check_before_up_is_one_line_and_exit_2(tmp_path) -> None:
    env = {**os.environ, **TEST_ENV, "LAB_HOME": str(tmp_path / "no-lab-here")}
    proc = subprocess.run([sys.executable, "-m", "lab", "check"], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 2
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert lines == ["Error: the lab is not running — start it with `make lab-up`"]


@pytest.mark.e2e
def test_database_error_names_the_file_and_the_line(running_lab, tmp_path) -> None:
    project = shipped_project(tmp_path / "tree")
    model = project / "models" / "marts" / "fct_orders.sql"
    lines = model.read_text().splitlines()
    number = next(i for i, ln in enumerate(lines, 1) if ln.strip() == "from orders")
    lines[number - 1] = lines[number - 1].replace("from orders", "form orders")
    model.write_text("\n".join(lines) + "\n")
    proc, report = check(project, tmp_path / "out", "--no-guard")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    build = criteria(report)[2]
    assert build["status"] == "fail"
    assert build["message"].startswith(f"models/marts/fct_orders.sql line {number}: syntax error at or near \"form\"")


@pytest.mark.e2e
def test_a_model_slower_than_the_timeout_fails_criterion_2(running_lab, tmp_path) -> None:
    project = shipped_project(tmp_path / "tree")
    slow = project / "models" / "marts" / "slow_model.sql"
    slow.write_text("select 1 as slept from (select pg_sleep(300)) as nap\n")
    started = time.monotonic()
    proc, report = check(project, tmp_path / "out", "--no-guard", "--timeout", "12")
    assert time.monotonic() - started < 90
    assert proc.returncode == 1, proc.stdout + proc.stderr
    build = criteria(report)[2]
    assert build["status"] == "fail"
    assert "ran longer than the timeout of 12 s (model slow_model was still running)" in build["message"]
    assert report["status"] == "fail"
    with running_lab.warehouse.connect("warehouse") as conn:
        sleeping = conn.execute("select count(*) from pg_stat_activity where query like '%pg_sleep(300)%' "
                                "and pid <> pg_backend_pid()").fetchone()[0]
        schemas = conn.execute("select count(*) from pg_namespace where nspname like 'check\\_%'").fetchone()[0]
    assert sleeping == 0
    assert schemas == 0
