"""report.json → the points GitHub Classroom reads (standard library only, so a workflow can run it with
any Python even when installing the lab failed).

GitHub Classroom's reporter (classroom-resources/autograding-grading-reporter) reads, for each runner id
given in its `runners` input, the environment variable `<ID>_RESULTS` (the id upper-cased): base64 of a
JSON object shaped like the output of Classroom's own graders (autograding-command-grader,
autograding-io-grader):

    {"version": 1, "status": "pass|fail|error", "max_score": N,
     "tests": [{"name", "status", "message", "test_code", "filename", "line_no", "execution_time", "score"}]}

It sends Classroom the sum of `tests[].score` out of `max_score` (a runner whose `max_score` is 0 or missing
is not counted), prints each test with its message, and fails its step when `status` is fail or error.
The lab's payload holds one test, the whole grade, with `score` the report's: 0 unless every required
criterion passes, so the reporter's other totals (passed tests / all tests) agree with the points.
`--per-criterion` lists each criterion as a test instead (scores still 0 unless the grade passes; the
reporter's "Total points" line then counts passed criteria, not points).

    python -m checks.classroom reports/report.json --output-name result >> "$GITHUB_OUTPUT"
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

from checks.outcome import CRITERIA

VARIANTS_DIR = Path(__file__).resolve().parent / "variants"
AUTHORITATIVE = ("This is fast feedback from your own repository's workflow; the authoritative grade comes from "
                 "your instructor's run (the lab at a pinned ref, only your dbt_project/ taken from your repository).")
TEST_NAME = "The $516k Gap — lab grade"
COMMAND = "lab grade HEAD --base BASE  # from a trusted copy of BASE"
_MARK = {"pass": "✅", "fail": "❌", "error": "⚠️"}


def default_max_score() -> float:
    """The grade's points when no report says: one per required criterion plus one per guard variant."""
    variants = [d for d in VARIANTS_DIR.iterdir() if d.is_dir()] if VARIANTS_DIR.is_dir() else []
    return float(len(CRITERIA) + len(variants))


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _summary(doc: dict[str, Any]) -> str:
    lab = doc.get("lab") or {}
    verdict = (lab.get("verdict") or doc.get("status") or "error").upper()
    lines = [f"{verdict}: score {_number(doc.get('score', 0))}/{_number(doc.get('max_score', 0))}"]
    if doc.get("message"):
        lines.append(str(doc["message"]))
    for t in doc.get("tests", []):
        why = t.get("message") or t.get("explanation") or ""
        lines.append(f"{_MARK.get(t.get('status'), '?')} {t.get('name')}" + (f" — {why}" if why else ""))
    if doc.get("status") != "pass":
        lines.append("Points count only when every required criterion passes.")
    lines.append(AUTHORITATIVE)
    return "\n".join(lines)


def payload(doc: dict[str, Any], *, per_criterion: bool = False) -> dict[str, Any]:
    """The runner result the reporter expects, from a report.json document."""
    status = doc.get("status") if doc.get("status") in _MARK else "error"
    score = float(doc.get("score") or 0) if status == "pass" else 0.0  # never points for a grade that did not pass
    max_score = float(doc.get("max_score") or 0) or default_max_score()
    if per_criterion and doc.get("tests"):
        tests = [{"name": t.get("name"), "status": t.get("status"), "message": t.get("message"),
                  "test_code": t.get("test_code", ""), "filename": "", "line_no": 0, "execution_time": "0s",
                  "score": _number(float(t.get("score") or 0) if status == "pass" else 0.0)} for t in doc["tests"]]
    else:
        duration = (doc.get("lab") or {}).get("duration_s")
        tests = [{"name": TEST_NAME, "status": status, "message": _summary(doc), "test_code": COMMAND,
                  "filename": "", "line_no": 0, "execution_time": f"{duration or 0}s", "score": _number(score)}]
    return {"version": 1, "status": status, "max_score": _number(max_score), "tests": tests}


def missing(why: str, max_score: float | None = None) -> dict[str, Any]:
    """No report was written (the grader did not get that far): an error worth 0, out of the usual points."""
    doc = {"version": 3, "status": "error", "message": why, "score": 0, "max_score": max_score or default_max_score(),
           "tests": [], "lab": {"verdict": "error"}}
    return payload(doc)


def encode(result: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(result, ensure_ascii=False).encode()).decode()


def decode(text: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(text))


def for_report(path: Path, *, per_criterion: bool = False, missing_ok: bool = False,
               max_score: float | None = None) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        if not missing_ok:
            raise
        return missing(f"no report was written ({path.name} is missing): the grader did not run to the end — "
                       "the job's log says why", max_score)
    except (OSError, ValueError) as exc:
        if not missing_ok:
            raise
        return missing(f"the report could not be read ({type(exc).__name__}: {exc})", max_score)
    return payload(doc, per_criterion=per_criterion)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.classroom", description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="report.json written by `lab grade`")
    parser.add_argument("--per-criterion", action="store_true", help="one reporter test per criterion")
    parser.add_argument("--missing-ok", action="store_true", help="no report: print an error result worth 0")
    parser.add_argument("--max-score", type=float, default=None, help="points of a missing report")
    parser.add_argument("--output-name", default=None, help="print NAME=<base64> (a line for $GITHUB_OUTPUT)")
    parser.add_argument("--json", action="store_true", help="print the JSON itself, not base64")
    args = parser.parse_args(argv)
    try:
        result = for_report(args.report, per_criterion=args.per_criterion, missing_ok=args.missing_ok,
                            max_score=args.max_score)
    except (OSError, ValueError) as exc:
        print(f"Error: {args.report}: {exc} — give the report.json that `lab grade --out` wrote", file=sys.stderr)
        return 64
    if args.json and args.output_name:
        parser.error("--output-name prints one line: use it without --json")
    text = json.dumps(result, indent=2, ensure_ascii=False) if args.json else encode(result)
    print(f"{args.output_name}={text}" if args.output_name else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
