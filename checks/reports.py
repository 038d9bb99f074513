"""Reports for CI and facilitators: JSON, JUnit XML and a Markdown summary.

The JSON follows the Exercism test-runner v3 shape that graders already consume (`version: 3`, overall
`status` pass|fail|error, `message` when the run errored, ordered `tests` with `name`, `status`,
`message`), adds `score`/`max_score` per test as GitHub Classroom expects, and a `lab` object with the
variant seed, time to fix, hints used and the probe's details. A criterion this mode does not judge or
did not reach is written as `fail` with "not reached" (or `pass` for criterion 1 in `lab check`), since
the v3 shape has no skip.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from checks.outcome import Criterion, Report, Status
from checks.state import fmt_duration

JSON_NAME, JUNIT_NAME, MARKDOWN_NAME = "report.json", "report.xml", "summary.md"


def _v3_status(rep: Report, c: Criterion) -> str:
    if not c.required:  # the regression guard is scored, never failed: its score says how well it did
        return "error" if c.status is Status.ERROR else "pass"
    if c.status is Status.SKIP:
        return "pass" if c.number == 1 and rep.mode == "check" else "fail"
    return c.status.value


def as_json(rep: Report) -> dict[str, Any]:
    tests = []
    for c in rep.criteria:
        status = _v3_status(rep, c)
        tests.append({"name": c.label, "status": status, "message": None if status == "pass" and
                      c.status is not Status.SKIP else c.message, "output": c.message,
                      "task_id": c.number or 7, "test_code": c.key, "score": c.score, "max_score": c.max_score,
                      "required": c.required, "caught_by": c.caught_by, "details": c.details or None})
    status = rep.status.value
    message = None
    if rep.status is Status.ERROR:
        message = rep.error or next((c.message for c in rep.criteria if c.status is Status.ERROR), None)
    elif rep.status is Status.FAIL and rep.first_failure:
        message = f"criterion {rep.first_failure.number}: {rep.first_failure.message}"
    return {"version": 3, "status": status, "message": message, "score": rep.score, "max_score": rep.max_score,
            "tests": tests, "lab": {**rep.lab, "mode": rep.mode, "caught": caught(rep)}}


def caught(rep: Report) -> list[dict[str, Any]]:
    """Which check caught what: the failing criteria and the mechanism that decided each."""
    return [{"criterion": c.number, "by": c.caught_by, "why": c.message} for c in rep.criteria
            if c.required and c.status is Status.FAIL]


def as_junit(rep: Report) -> str:
    suite = ET.Element("testsuite", name="lab-grade", tests=str(len(rep.criteria)),
                       failures=str(sum(c.status is Status.FAIL and c.required for c in rep.criteria)),
                       errors=str(sum(c.status is Status.ERROR for c in rep.criteria)),
                       skipped=str(sum(c.status is Status.SKIP for c in rep.criteria)),
                       time=str(rep.lab.get("duration_s", 0)))
    props = ET.SubElement(suite, "properties")
    for key in ("variant_seed", "time_to_fix_s", "hints_used", "target", "base", "schema"):
        if rep.lab.get(key) is not None:
            ET.SubElement(props, "property", name=key, value=str(rep.lab[key]))
    if rep.lab.get("probe"):
        ET.SubElement(props, "property", name="probe", value=json.dumps(rep.lab["probe"], default=str))
    for c in rep.criteria:
        case = ET.SubElement(suite, "testcase", classname=f"lab.{c.key}", name=c.label)
        if c.status is Status.FAIL and c.required:
            ET.SubElement(case, "failure", message=c.message, type="; ".join(c.caught_by) or "fail").text = c.message
        elif c.status is Status.ERROR:
            ET.SubElement(case, "error", message=c.message, type="lab").text = c.message
        elif c.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=c.message)
        ET.SubElement(case, "system-out").text = (f"score {c.score:g}/{c.max_score:g}: {c.message}")
    if rep.error:
        ET.SubElement(suite, "system-err").text = rep.error
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


_ICON = {Status.PASS: "✅ pass", Status.FAIL: "❌ fail", Status.ERROR: "⚠️ error", Status.SKIP: "➖ skip"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def as_markdown(rep: Report) -> str:
    lab = rep.lab
    verdict = {Status.PASS: "✅ **PASS** — a real fix", Status.FAIL: "❌ **FAIL**",
               Status.ERROR: "⚠️ **ERROR** — the lab could not judge (not your fault)"}[rep.status]
    title = f"`{lab['target']}`" if lab.get("target") else "your dbt_project/"
    lines = [f"## The $516k Gap — grade of {title}", "", verdict, ""]
    if rep.status is Status.FAIL and rep.first_failure:
        lines += [f"> criterion {rep.first_failure.number}: {rep.first_failure.message}", ""]
    if rep.status is Status.ERROR:
        lines += [f"> {rep.error or 'a criterion could not be judged'}", ""]
    lines += ["| # | criterion | result | score | details |", "|---|---|---|---|---|"]
    for c in rep.criteria:
        result = _ICON[c.status] if c.required or c.status is Status.SKIP else f"{c.score:g}/{c.max_score:g}"
        lines.append(f"| {c.number or '—'} | {_cell(c.title)} | {result} | {c.score:g}/{c.max_score:g} | "
                     f"{_cell(c.message)} |")
    lines += ["", f"**Score:** {rep.score:g}/{rep.max_score:g}", ""]
    facts = [("base", lab.get("base")), ("variant seed", lab.get("variant_seed")),
             ("time to fix", fmt_duration(lab["time_to_fix_s"]) + f" ({lab.get('time_to_fix_source', 'lab clock')})"
              if lab.get("time_to_fix_s") is not None else "unknown"),
             ("hints used", lab.get("hints_used")), ("tile / ERP (Q2)", f"{lab.get('tile_q2')} / {lab.get('erp_q2')}"),
             ("duration", f"{lab.get('duration_s')} s")]
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
    files = {JSON_NAME: json.dumps(as_json(rep), indent=2, default=str) + "\n", JUNIT_NAME: as_junit(rep),
             MARKDOWN_NAME: as_markdown(rep)}
    for name, text in files.items():
        (out / name).write_text(text)
    return [out / name for name in files]
