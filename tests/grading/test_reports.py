"""report.json follows Exercism's test-runner interface v3 (held by a JSON Schema), JUnit XML agrees with
it on every criterion, and a grade scores 0 unless every required criterion passes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from checks import reports
from checks.outcome import Report, Status
from tests.grading.cases import CASES

pytestmark = pytest.mark.unit

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
jsonschema = pytest.importorskip("jsonschema", reason="the schema tests need the `jsonschema` package (a dependency "
                                                      "of dbt-core; add it to the `dev` extra if that ever changes)")


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _doc(rep: Report) -> dict:
    return json.loads(json.dumps(reports.as_json(rep), default=str))  # exactly what report.json holds


def _errors(validator, doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("case", CASES)
def test_every_kind_of_report_conforms(validator, case: str) -> None:
    doc = _doc(CASES[case]())
    assert _errors(validator, doc) == [], json.dumps(doc, indent=1)


@pytest.mark.parametrize("case", CASES)
def test_reports_written_to_disk_conform(validator, tmp_path: Path, case: str) -> None:
    files = reports.write(CASES[case](), tmp_path)
    doc = json.loads(files[0].read_text())
    assert _errors(validator, doc) == []
    assert doc["lab"]["generated_at"]


def test_the_v3_statuses_of_each_situation() -> None:
    expect = {  # case: (v3 status, lab verdict, top-level message?)
        "passed": ("pass", "pass", False), "failed": ("fail", "fail", False),
        "not_reached_after_build": ("fail", "fail", False), "errored_midway": ("fail", "error", False),
        "lab_down": ("error", "error", True), "checked_pass_without_guard": ("pass", "pass", False),
        "marked_not_judged": ("pass", "pass", False), "tampered": ("fail", "fail", False),
        "broke_after_judging": ("error", "error", True),
    }
    assert set(expect) == set(CASES)
    for case, (status, verdict, message) in expect.items():
        doc = _doc(CASES[case]())
        assert (doc["status"], doc["lab"]["verdict"], doc["message"] is not None) == (status, verdict, message), case


def test_score_is_zero_unless_every_required_criterion_passes() -> None:
    assert _doc(CASES["passed"]())["score"] == 9  # 6 criteria + 3 of 4 variants caught
    assert _doc(CASES["passed"]())["max_score"] == 10
    for case in ("failed", "tampered", "errored_midway", "not_reached_after_build", "lab_down", "broke_after_judging"):
        doc = _doc(CASES[case]())
        assert doc["score"] == 0 and all(t["score"] == 0 for t in doc["tests"]), case
    failed = _doc(CASES["failed"]())
    assert failed["lab"]["points_earned"] == 5  # what the criteria earned on their own: 4 + 1 variant
    assert [t["earned"] for t in failed["tests"]] == [1, 1, 0, 0, 1, 1, 1]


def test_per_test_fields_follow_v3() -> None:
    doc = _doc(CASES["failed"]())
    tests = doc["tests"]
    assert [t.get("task_id") for t in tests] == [1, 2, 3, 4, 5, 6, None]  # the guard belongs to no task
    assert all("output" not in t for t in tests)  # v3: only what the learner's code printed
    assert all(t["message"] is None for t in tests if t["status"] == "pass")
    assert tests[2]["message"].startswith("tile $4,206,000.00 ≠ ERP")
    assert tests[3]["status"] == "fail" and tests[3]["not_reached"] and tests[3]["message"].startswith("not reached")
    assert all("\n" in t["test_code"] and t["test_code"] != t["key"] for t in tests)  # code, not a slug
    assert tests[-1]["status"] == "pass" and tests[-1]["explanation"] == "1/4 wrong variants caught"


def test_a_criterion_this_run_does_not_judge_is_left_out_of_json_and_junit() -> None:
    for case in ("checked_pass_without_guard", "marked_not_judged"):
        rep = CASES[case]()
        doc = _doc(rep)
        assert [t["criterion"] for t in doc["tests"]] == [2, 3, 4, 5, 6]
        assert [n["key"] for n in doc["lab"]["not_judged"]] == ["only_dbt_project", "regression_guard"]
        assert doc["max_score"] == 5 and doc["score"] == 5
        suite = ET.fromstring(reports.as_junit(rep))
        assert [c.get("classname") for c in suite.iter("testcase")] == [f"lab.{t['key']}" for t in doc["tests"]]
        assert "not judged by this run: 1. only dbt_project/" in reports.as_markdown(rep)


def _junit_status(case: ET.Element) -> str:
    kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
    assert len(kinds) <= 1
    return {"failure": "fail", "error": "error"}.get(kinds[0], "skipped") if kinds else "pass"


@pytest.mark.parametrize("case", CASES)
def test_json_and_junit_agree_on_every_criterion(case: str) -> None:
    rep = CASES[case]()
    doc = _doc(rep)
    suite = ET.fromstring(reports.as_junit(rep))
    cases = list(suite.iter("testcase"))
    assert [c.get("name") for c in cases] == [t["name"] for t in doc["tests"]]
    assert [_junit_status(c) for c in cases] == [t["status"] for t in doc["tests"]]
    for c, t in zip(cases, doc["tests"], strict=True):
        if t["status"] != "pass":
            child = next(x for x in c if x.tag in ("failure", "error"))
            assert child.get("message") == t["message"]
            if t["not_reached"]:
                assert child.get("type") == "not reached" or t["status"] == "error"
        assert c.find("system-out").text.startswith(f"score {t['score']:g}/{t['max_score']:g}")
    assert int(suite.get("tests")) == len(doc["tests"])
    assert int(suite.get("failures")) == sum(t["status"] == "fail" for t in doc["tests"])
    assert int(suite.get("errors")) == sum(t["status"] == "error" for t in doc["tests"])
    assert suite.get("skipped") == "0" and suite.find(".//skipped") is None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (props["status"], props["verdict"]) == (doc["status"], doc["lab"]["verdict"])
    assert float(props["score"]) == doc["score"] and float(props["max_score"]) == doc["max_score"]


def test_the_schema_rejects_what_v3_forbids(validator) -> None:
    good = _doc(CASES["failed"]())
    assert _errors(validator, good) == []

    def broken(edit) -> list[str]:
        doc = copy.deepcopy(good)
        edit(doc)
        return _errors(validator, doc)

    assert broken(lambda d: d.update(message="criterion 3: tile ≠ ERP"))  # a top-level message on fail
    assert broken(lambda d: d.update(score=4.67))  # points for a grade that did not pass
    assert broken(lambda d: d["tests"][2].update(status="skip"))  # no such status in v3
    assert broken(lambda d: d["tests"][2].update(test_code="tile_equals_erp"))  # a slug is not code
    assert broken(lambda d: d["tests"][6].update(task_id=7))  # the guard is no task
    assert broken(lambda d: d["tests"][0].update(output="x" * 501))  # v3: output ≤ 500 characters
    assert broken(lambda d: d.update(status="pass"))  # pass with failing tests
    assert broken(lambda d: d["lab"].pop("time_to_detect_s"))  # the roll-up's facts are always there
    error = _doc(CASES["lab_down"]())
    assert _errors(validator, error) == []
    error.pop("message")
    assert _errors(validator, error)  # v3: an error says why


def test_lab_facts_are_kept(validator) -> None:
    rep = CASES["passed"]()
    rep.lab.update({"time_to_detect_s": 312.0, "attempts": 3})
    doc = _doc(rep)
    lab = doc["lab"]
    assert (lab["variant_seed"], lab["time_to_fix_s"], lab["hints_used"], lab["probe"], lab["timings"]) == \
        (516, 754.2, 1, {"seed": 9}, {"build": 3.5})
    assert (lab["time_to_detect_s"], lab["attempts"], lab["learner"]) == (312.0, 3, "ada")
    bare = _doc(CASES["checked_pass_without_guard"]())["lab"]
    assert (bare["time_to_detect_s"], bare["attempts"], bare["learner"]) == (None, None, None)
    assert _errors(validator, doc) == []


def test_markdown_says_why_and_how_points_count() -> None:
    text = reports.as_markdown(CASES["failed"]())
    assert "❌ **FAIL**" in text and "> criterion 3: tile $4,206,000.00 ≠ ERP" in text
    assert "| 4 | live probe" in text and "(not reached)" in text
    assert "**Score:** 0/10 — points count only when every required criterion passes" in text
    assert "⚠️ **ERROR**" in reports.as_markdown(CASES["errored_midway"]())


def test_the_report_status_counts_a_scored_criterion_that_could_not_be_judged() -> None:
    rep = CASES["passed"]()
    rep.criteria[-1].status = Status.ERROR
    assert rep.status is Status.ERROR and rep.score == 0
