"""Reports for CI and facilitators: JSON, JUnit XML and a Markdown summary.

report.json follows Exercism's test-runner interface, version 3 (exercism/docs,
building/tooling/test-runners/interface.md), to the letter:
- top-level `status` is v3's, derived from the tests: `pass` when every test passed, `error` when no test
  ran correctly (every test errored), `fail` otherwise ("at least one test has the status fail or error");
- top-level `message` only when `status` is `error` (null otherwise), at most 65,535 characters;
- each test has `name`, `status` (pass|fail|error), `test_code` (what the check does, as code), `message`
  (why it did not pass; null on a pass), `task_id` (the criterion's number, LAB_SPEC §6 — omitted for the
  regression guard, which belongs to no single task), and no `output` (v3 reserves it for what the
  learner's own code printed, which the checker does not capture);
- tests in the order of the criteria.
Additions, which v3 consumers ignore: GitHub Classroom's `score`/`max_score` (top level and per test; a
grade's score is 0 unless every required criterion passes), per-test `criterion`, `key`, `required`,
`earned`, `explanation`, `not_reached`, `caught_by`, `details`, and a `lab` object (the lab's own verdict
— pass, fail, or error: the lab could not judge —, variant seed, times to detect and to fix, hints,
attempts, probe, timings). `lab.verdict` and the exit code keep the lab's three outcomes apart where v3
has only two for a run that partly ran: a grade where criterion 4 could not be judged is v3 `fail` (a test
errored) and `lab.verdict` `error`.

A criterion that was not reached (an earlier one failed, e.g. no tile without a build) is a test that did
not pass: `fail`, with a message that starts "not reached", in JSON and JUnit alike (`error` if nothing
failed before it, since then the lab is to blame). A criterion this run does not judge at all (criterion 1
in `lab check`, the guard under `--no-guard`) is neither passed nor failed: it is left out of the tests,
the JUnit test cases and the score, and listed in `lab.not_judged`. JUnit never says `skipped`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from checks.outcome import Criterion, Report, Status
from lab.clock import fmt_duration

JSON_NAME, JUNIT_NAME, MARKDOWN_NAME = "report.json", "report.xml", "summary.md"
MESSAGE_LIMIT = 65_535  # v3: the top-level message is limited to 65,535 characters

# v3's `test_code`: the body of the check, as code a learner can read (the mechanism, not a slug).
TEST_CODE: dict[str, str] = {
    "only_dbt_project": (
        "changed = git diff --name-only $(git merge-base BASE TARGET) TARGET  # a folder: compared with BASE's tree\n"
        "assert [path for path in changed if not path.startswith('dbt_project/')] == []"),
    "build": (
        "dbt run  --profiles-dir <the checker's own> --target <lab_transformer>  # into schema check_<id>\n"
        "dbt test --profiles-dir <the checker's own> --target <lab_tester>\n"
        "assert every model and every test in run_results.json succeeded (within --timeout)"),
    "tile_equals_erp": (
        "pause the orders service and the dbt scheduler; wait until warehouse == OLTP row for row\n"
        "assert tile(revenue_quarterly, Q2 2026) == ERP net revenue (Q2 2026)  # exact Decimal, to the cent"),
    "live_probe": (
        "through the orders service, in Q2: new orders, v2 refunds, old-flow refunds, cancellations\n"
        "wait until CDC has delivered every probe row to the warehouse; dbt run (your models)\n"
        "assert tile_after - tile_before == erp_after - erp_before"),
    "honest": (
        "models are built by lab_transformer, which has no grant on schema erp\n"
        "scan(compiled SQL, hooks, macros): no seeded figure, list of order ids, tuned date or write to raw"),
    "shipped_tests": (
        "base, yours = manifest(shipped dbt_project), manifest(your dbt_project)\n"
        "assert every shipped test is in yours: not deleted, disabled, loosened or overridden\n"
        "assert dbt ran with the checker's profiles.yml, never connection settings from your tree"),
    "regression_guard": (
        "for variant in checks/variants/*:  # the defective models and other wrong ones\n"
        "    build the variant's models with your project; dbt test\n"
        "score = number of variants that made at least one of your tests fail"),
}
# Facts every report.json carries in `lab`, null when unknown (the roll-up reads them).
LAB_DEFAULTS: dict[str, Any] = {"learner": None, "variant_seed": None, "time_to_detect_s": None,
                                "time_to_fix_s": None, "hints_used": None, "attempts": None}


def v3_status(rep: Report, c: Criterion) -> str:
    """One criterion as a v3 test status; the JUnit report maps the same way (fail → failure, error → error)."""
    if c.status is Status.ERROR:
        return "error"
    if c.status is Status.SKIP:  # not reached: because of an earlier failure, or the lab's trouble
        return "fail" if rep.status is Status.FAIL else "error"
    if not c.required:  # the regression guard is scored, never failed: its score says how well it did
        return "pass"
    return c.status.value


def v3_overall(rep: Report, statuses: list[str]) -> str:
    if statuses and all(s == "pass" for s in statuses):
        # Every criterion passed but the run still broke down (e.g. the lab lost a server while cleaning up):
        # not a pass. v3's `error` is the only status that carries the reason.
        return "error" if rep.status is Status.ERROR else "pass"
    if not statuses or all(s == "error" for s in statuses):
        return "error"
    return "fail"


def _error_message(rep: Report) -> str:
    text = rep.error or next((c.message for c in rep.criteria if c.status is Status.ERROR), None) \
        or "the lab could not judge this run"
    return text[:MESSAGE_LIMIT]


def as_json(rep: Report) -> dict[str, Any]:
    tests = []
    for c in rep.in_scope:
        status = v3_status(rep, c)
        test: dict[str, Any] = {"name": c.label, "status": status, "message": None if status == "pass" else c.message,
                                "test_code": TEST_CODE[c.key]}
        if c.number:
            test["task_id"] = c.number
        test.update({"score": rep.awarded(c), "max_score": c.max_score, "criterion": c.number, "key": c.key,
                     "required": c.required, "earned": c.score, "explanation": c.message,
                     "not_reached": c.status is Status.SKIP, "caught_by": c.caught_by, "details": c.details or None})
        tests.append(test)
    status = v3_overall(rep, [t["status"] for t in tests])
    lab = {**LAB_DEFAULTS, **rep.lab, "mode": rep.mode, "verdict": rep.status.value, "error": rep.error,
           "points_earned": rep.points_earned, "caught": caught(rep),
           "not_judged": [{"criterion": c.number, "key": c.key, "why": c.message}
                          for c in rep.criteria if rep.out_of_scope(c)]}
    return {"version": 3, "status": status, "message": _error_message(rep) if status == "error" else None,
            "score": rep.score, "max_score": rep.max_score, "tests": tests, "lab": lab}


def caught(rep: Report) -> list[dict[str, Any]]:
    """Which check caught what: the failing criteria and the mechanism that decided each."""
    return [{"criterion": c.number, "by": c.caught_by, "why": c.message} for c in rep.criteria
            if c.required and c.status is Status.FAIL]


_PROPERTIES = ("learner", "variant_seed", "time_to_detect_s", "time_to_fix_s", "hints_used", "attempts", "target",
               "base", "schema")


def as_junit(rep: Report) -> str:
    """The same tests as report.json, in the same order, with the same outcome each: a v3 `fail` is a
    <failure>, an `error` an <error>, a `pass` has neither; never <skipped>."""
    cases = [(c, v3_status(rep, c)) for c in rep.in_scope]
    suite = ET.Element("testsuite", name=f"lab-{rep.mode}", tests=str(len(cases)),
                       failures=str(sum(s == "fail" for _, s in cases)),
                       errors=str(sum(s == "error" for _, s in cases)), skipped="0",
                       time=str(rep.lab.get("duration_s", 0)))
    props = ET.SubElement(suite, "properties")
    overall = v3_overall(rep, [s for _, s in cases])
    facts = [("mode", rep.mode), ("verdict", rep.status.value), ("status", overall), ("score", f"{rep.score:g}"),
             ("max_score", f"{rep.max_score:g}")] + [(k, rep.lab.get(k)) for k in _PROPERTIES]
    for key, value in facts:
        if value is not None:
            ET.SubElement(props, "property", name=key, value=str(value))
    if rep.lab.get("probe"):
        ET.SubElement(props, "property", name="probe", value=json.dumps(rep.lab["probe"], default=str))
    for c, status in cases:
        case = ET.SubElement(suite, "testcase", classname=f"lab.{c.key}", name=c.label)
        if status == "fail":
            kind = "not reached" if c.status is Status.SKIP else "; ".join(c.caught_by) or "fail"
            ET.SubElement(case, "failure", message=c.message, type=kind).text = c.message
        elif status == "error":
            ET.SubElement(case, "error", message=c.message, type="lab").text = c.message
        ET.SubElement(case, "system-out").text = (f"score {rep.awarded(c):g}/{c.max_score:g} "
                                                  f"(earned {c.score:g}): {c.message}")
    if rep.error:
        ET.SubElement(suite, "system-err").text = rep.error
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


_ICON = {"pass": "✅ pass", "fail": "❌ fail", "error": "⚠️ error"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def as_markdown(rep: Report) -> str:
    lab = rep.lab
    verdict = {Status.PASS: "✅ **PASS** — a real fix", Status.FAIL: "❌ **FAIL**",
               Status.ERROR: "⚠️ **ERROR** — the lab could not judge (not your fault)"}[rep.status]
    title = f"`{lab['target']}`" if lab.get("target") else "your dbt_project/"
    if lab.get("learner"):
        title = f"{lab['learner']} — {title}"
    lines = [f"## The $516k Gap — grade of {title}", "", verdict, ""]
    if rep.status is Status.FAIL and rep.first_failure:
        lines += [f"> criterion {rep.first_failure.number}: {rep.first_failure.message}", ""]
    if rep.status is Status.ERROR:
        lines += [f"> {_error_message(rep)}", ""]
    lines += ["| # | criterion | result | score | details |", "|---|---|---|---|---|"]
    for c in rep.in_scope:
        status = v3_status(rep, c)
        result = _ICON[status] if c.required or status != "pass" else f"{c.score:g}/{c.max_score:g} caught"
        if c.status is Status.SKIP:
            result += " (not reached)"
        lines.append(f"| {c.number or '—'} | {_cell(c.title)} | {result} | {rep.awarded(c):g}/{c.max_score:g} | "
                     f"{_cell(c.message)} |")
    outside = [c for c in rep.criteria if rep.out_of_scope(c)]
    if outside:
        lines += [""] + [f"- not judged by this run: {c.label} — {c.message}" for c in outside]
    score = f"**Score:** {rep.score:g}/{rep.max_score:g}"
    if rep.status is not Status.PASS:
        score += (f" — points count only when every required criterion passes (the criteria earned "
                  f"{rep.points_earned:g} on their own)")
    lines += ["", score, ""]
    facts = [("learner", lab.get("learner")), ("base", lab.get("base")), ("variant seed", lab.get("variant_seed")),
             ("time to detect", fmt_duration(lab["time_to_detect_s"]) if lab.get("time_to_detect_s") is not None
              else None),
             ("time to fix", fmt_duration(lab["time_to_fix_s"]) + f" ({lab.get('time_to_fix_source', 'lab clock')})"
              if lab.get("time_to_fix_s") is not None else "unknown"),
             ("hints used", lab.get("hints_used")), ("attempts", lab.get("attempts")),
             ("tile / ERP (Q2)", f"{lab.get('tile_q2')} / {lab.get('erp_q2')}" if lab.get("erp_q2") else None),
             ("duration", f"{lab.get('duration_s')} s" if lab.get("duration_s") is not None else None)]
    if lab.get("probe"):
        p = lab["probe"]
        facts.append(("probe", f"{p.get('summary')}; ERP moved {p.get('erp_delta')}, tile moved {p.get('tile_delta')}"))
    lines += [f"- **{k}:** {v}" for k, v in facts if v is not None]
    found = caught(rep)
    if found:
        lines += ["", "### Which check caught what", ""]
        lines += [f"- criterion {f['criterion']} — caught by {', '.join(f['by']) or 'the checker'}: {f['why']}"
                  for f in found]
    return "\n".join(lines) + "\n"


def write(rep: Report, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    doc = as_json(rep)
    doc["lab"].setdefault("generated_at", datetime.now(UTC).isoformat(timespec="seconds"))
    files = {JSON_NAME: json.dumps(doc, indent=2, default=str) + "\n", JUNIT_NAME: as_junit(rep),
             MARKDOWN_NAME: as_markdown(rep)}
    for name, text in files.items():
        (out / name).write_text(text)
    return [out / name for name in files]
