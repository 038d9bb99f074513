"""The facilitator's roll-up, on report files written from real Report objects as the instructor's
roster, CI artifacts and learners' machines lay them out."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from checks import reports, rollup
from tests.conftest import ROOT
from tests.grading.cases import CASES

pytestmark = pytest.mark.unit


def _tags(page: str) -> list[tuple[str, list]]:
    found: list[tuple[str, list]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Tags().feed(page)
    return found


def _write(folder: Path, case: str, **facts) -> Path:
    rep = CASES[case]()
    rep.lab.update(facts)
    return reports.write(rep, folder)[0]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "workshop"
    _write(root / "roster" / "ada", "passed", learner="ada", time_to_detect_s=301.0, time_to_fix_s=1204.5, attempts=3)
    _write(root / "roster" / "bo", "failed", learner="bo", time_to_detect_s=None, time_to_fix_s=2100.0, attempts=5)
    _write(root / "roster" / "dee", "errored_midway", learner="dee", time_to_fix_s=None)
    # a CI artifact downloaded into a folder named after the learner's repository (no lab.learner)
    _write(root / "artifacts" / "lab-cy" / "grade-reports", "not_reached_after_build", learner=None,
           time_to_fix_s=95.0, hints_used=4)
    # from a learner's own machine, with a name meant to break a page
    _write(root / "laptops" / "mallory", "passed", learner='=cmd|"x" <img src=x onerror=alert(1)>',
           time_to_fix_s=600.0, hints_used=0, attempts=1)
    return root


def test_one_row_per_learner_with_the_facts_a_facilitator_needs(folder: Path) -> None:
    rows, problems = rollup.collect(folder)
    assert problems == []
    by = {r.learner: r for r in rows}
    assert set(by) == {"ada", "bo", "dee", "lab-cy", '=cmd|"x" <img src=x onerror=alert(1)>'}
    ada, bo, cy = by["ada"], by["bo"], by["lab-cy"]
    assert (ada.verdict, ada.score, ada.max_score, ada.failing) == ("pass", 9, 10, [])
    assert (ada.time_to_detect_s, ada.time_to_fix_s, ada.hints, ada.attempts) == (301.0, 1204.5, 1, 3)
    assert (bo.verdict, bo.score, bo.failing) == ("fail", 0, ["3 tile = ERP"])  # 4 was only not reached
    assert (cy.verdict, cy.failing, cy.hints) == ("fail", ["2 dbt build"], 4)
    assert by["dee"].failing == ["4 live probe (error)"] and by["dee"].verdict == "error"


def test_markdown_csv_and_a_self_contained_html_page(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "rollup"
    assert rollup.main(folder, out, quiet=True) == 0
    md, text, page = ((out / n).read_text() for n in rollup.NAMES)
    assert "5 learner(s): 2 pass, 2 fail, 1 error" in md
    assert "| ada | pass | 9/10 | — | 5 min 01 s | 20 min 04 s | 1 | 3 |" in md
    assert "| bo | fail | 0/10 | 3 tile = ERP | — | 35 min 00 s | 1 | 5 |" in md
    assert "<img" not in md and "\\|" in md  # a learner's name cannot become markup or a column

    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["learner"] for r in table][1:] == ["ada", "bo", "dee", "lab-cy"]
    mallory = next(r for r in table if "onerror" in r["learner"])
    assert mallory["learner"].startswith("'=cmd")  # '=', '+', '-', '@' cannot start a formula
    assert table[1]["time_to_fix_s"] == "1204.5" and table[1]["attempts"] == "3"

    assert page.startswith("<!doctype html>") and "<style>" in page and "<svg" in page
    tags = _tags(page)
    assert {t for t, _ in tags} <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "svg", "line",
                                    "text", "rect", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "span"}
    assert not [a for _, attrs in tags for a, _ in attrs if a in ("src", "href") or a.startswith("on")]
    assert "@import" not in page and "url(" not in page  # nothing fetched, nothing run
    bars = re.findall(r'<rect x="180" y="\d+" width="([\d.]+)"', page)
    assert len(bars) == 4  # ada, bo, cy, mallory have a time to fix; dee has none
    widths = dict(zip(["mallory", "ada", "bo", "lab-cy"], map(float, bars), strict=True))
    assert widths["bo"] > widths["ada"] > widths["mallory"] > widths["lab-cy"]
    assert "20 min 04 s" in page and "min</text>" in page


def test_the_newest_report_of_a_learner_makes_their_row_unless_all_are_asked_for(tmp_path: Path) -> None:
    older = _write(tmp_path / "ada" / "try1", "failed", learner="ada")
    newer = _write(tmp_path / "ada" / "try2", "passed", learner="ada")
    for path, when in ((older, "2026-06-26T09:00:00+00:00"), (newer, "2026-06-26T09:30:00+00:00")):
        doc = json.loads(path.read_text())
        doc["lab"]["generated_at"] = when
        path.write_text(json.dumps(doc))
    rows, _ = rollup.collect(tmp_path)
    assert [(r.learner, r.verdict) for r in rows] == [("ada", "pass")]
    rows, _ = rollup.collect(tmp_path, latest=False)
    assert [r.verdict for r in rows] == ["fail", "pass"]


def test_unreadable_reports_are_listed_not_fatal(tmp_path: Path) -> None:
    _write(tmp_path / "ada", "passed", learner="ada")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "report.json").write_text("{oops")
    rows, problems = rollup.collect(tmp_path)
    assert len(rows) == 1 and len(problems) == 1 and "bad" in problems[0]
    assert rollup.main(tmp_path / "bad" / "..", tmp_path / "o", quiet=True) == 0
    assert "could not be read" in (tmp_path / "o" / "rollup.md").read_text()
    (tmp_path / "empty").mkdir()
    assert rollup.main(tmp_path / "empty", quiet=True) == 1


def test_python_m_checks_rollup(folder: Path, tmp_path: Path) -> None:
    env = {**os.environ}
    proc = subprocess.run([sys.executable, "-m", "checks", "rollup", str(folder), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "| ada | pass |" in proc.stdout and (tmp_path / "o" / "rollup.html").exists()
    proc = subprocess.run([sys.executable, "-m", "checks.rollup", str(folder), "--all", "--out", str(tmp_path / "p")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
