"""The facilitator's roll-up: a folder of reports (found recursively — from the instructor's roster run,
CI artifacts or learners' machines) as one table: learner, verdict, failing criteria, time to detect, time
to fix, hints, attempts. Written as rollup.md, rollup.csv and rollup.html (one self-contained page: inline
CSS and an inline SVG chart of the times to fix; no script, nothing fetched). Standard library only.

    python -m checks rollup DIR [--out DIR] [--all]      (also: python -m checks.rollup DIR)

Who a report belongs to: its `lab.learner` (the roster writes it); else the folder the report is in,
relative to DIR (how CI artifacts and collected reports are laid out: DIR/<learner>/report.json); else its
`lab.target`. By default each learner's newest report makes their row (`lab.generated_at`, else the file's
time); `--all` gives one row per report. Report contents are the learners' to write (a learner's own
machine): everything is escaped in every format, and CSV cells cannot start a formula.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.clock import fmt_duration

REPORT = "report.json"
NAMES = ("rollup.md", "rollup.csv", "rollup.html")
SHORT = {"only_dbt_project": "only dbt_project/", "build": "dbt build", "tile_equals_erp": "tile = ERP",
         "live_probe": "live probe", "honest": "honest fix", "shipped_tests": "shipped tests"}
GENERIC_FOLDERS = {"", ".", "reports", "report", "out", "grade-reports", "artifacts"}
COLUMNS = ("learner", "verdict", "score", "failing criteria", "time to detect", "time to fix", "hints", "attempts")


@dataclass
class Row:
    learner: str
    verdict: str
    score: float | None
    max_score: float | None
    failing: list[str] = field(default_factory=list)
    time_to_detect_s: float | None = None
    time_to_fix_s: float | None = None
    hints: int | None = None
    attempts: int | None = None
    mode: str | None = None
    when: str = ""
    source: str = ""


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    n = _num(value)
    return int(n) if n is not None else None


def _failing(doc: dict[str, Any]) -> list[str]:
    """Required criteria that failed for a reason of their own (not merely not reached), or errored."""
    out = []
    for t in doc.get("tests") or []:
        if not isinstance(t, dict) or t.get("status") not in ("fail", "error") or t.get("required") is False:
            continue
        if t.get("not_reached") or str(t.get("message") or "").startswith("not reached"):
            continue
        number = t.get("criterion", t.get("task_id"))
        if number in (None, 7):  # 7: the guard's task id in reports written before v3 conformance
            continue
        name = SHORT.get(str(t.get("key") or ""), "")
        out.append(f"{number} {name}".strip() + (" (error)" if t.get("status") == "error" else ""))
    return out


def learner_name(doc: dict[str, Any], path: Path, root: Path) -> str:
    lab = doc.get("lab") if isinstance(doc.get("lab"), dict) else {}
    if lab.get("learner"):
        return str(lab["learner"])
    try:
        parts = path.parent.relative_to(root).parts
    except ValueError:
        parts = (path.parent.name,)
    named = [p for p in parts if p.lower() not in GENERIC_FOLDERS]  # ada/grade-reports/report.json → ada
    if named:
        return "/".join(named)
    if lab.get("target"):
        return str(lab["target"])
    return path.parent.resolve().name


def read(path: Path, root: Path) -> Row:
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError("not a report object")
    lab = doc.get("lab") if isinstance(doc.get("lab"), dict) else {}
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    when = str(lab.get("generated_at") or mtime)
    try:
        source = path.relative_to(root).as_posix()
    except ValueError:
        source = str(path)
    return Row(learner=learner_name(doc, path, root), verdict=str(lab.get("verdict") or doc.get("status") or "?"),
               score=_num(doc.get("score")), max_score=_num(doc.get("max_score")), failing=_failing(doc),
               time_to_detect_s=_num(lab.get("time_to_detect_s")), time_to_fix_s=_num(lab.get("time_to_fix_s")),
               hints=_int(lab.get("hints_used", lab.get("hints"))), attempts=_int(lab.get("attempts")),
               mode=lab.get("mode"), when=when, source=source)


def collect(root: Path, latest: bool = True) -> tuple[list[Row], list[str]]:
    rows, problems = [], []
    for path in sorted(root.rglob(REPORT)):
        try:
            rows.append(read(path, root))
        except (OSError, ValueError) as exc:
            problems.append(f"{path}: {exc}")
    if latest:
        newest: dict[str, Row] = {}
        for row in rows:
            if row.learner not in newest or row.when >= newest[row.learner].when:
                newest[row.learner] = row
        rows = list(newest.values())
    rows.sort(key=lambda r: (r.learner.lower(), r.when))
    return rows, problems


def duration(seconds: float | None) -> str:
    return fmt_duration(seconds, missing="—")


def _score(row: Row) -> str:
    if row.score is None:
        return "—"
    return f"{row.score:g}/{row.max_score:g}" if row.max_score is not None else f"{row.score:g}"


def cells(row: Row) -> list[str]:
    return [row.learner, row.verdict, _score(row), ", ".join(row.failing) or "—", duration(row.time_to_detect_s),
            duration(row.time_to_fix_s), "—" if row.hints is None else str(row.hints),
            "—" if row.attempts is None else str(row.attempts)]


def counts(rows: list[Row]) -> str:
    by = {v: sum(r.verdict == v for r in rows) for v in ("pass", "fail", "error")}
    fixed = [r.time_to_fix_s for r in rows if r.time_to_fix_s is not None and r.verdict == "pass"]
    text = f"{len(rows)} learner(s): {by['pass']} pass, {by['fail']} fail, {by['error']} error"
    if fixed:
        text += f"; median time to fix (passing) {duration(statistics.median(fixed))}"
    return text


def _md(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")
            .replace(">", "&gt;").replace("`", "\\`").replace("*", "\\*").replace("_", "\\_").replace("[", "\\["))


def as_markdown(rows: list[Row], problems: list[str] | None = None) -> str:
    lines = ["## The $516k Gap — roll-up", "", counts(rows), "", "| " + " | ".join(COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_md(c) for c in cells(r)) + " |" for r in rows]
    if problems:
        lines += ["", "Reports that could not be read:", ""] + [f"- {_md(p)}" for p in problems]
    return "\n".join(lines) + "\n"


def _csv_safe(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(rows: list[Row]) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["learner", "verdict", "score", "max_score", "failing_criteria", "time_to_detect_s", "time_to_fix_s",
                  "hints", "attempts", "mode", "generated_at", "report"])
    for r in rows:
        out.writerow([_csv_safe(r.learner), _csv_safe(r.verdict), "" if r.score is None else f"{r.score:g}",
                      "" if r.max_score is None else f"{r.max_score:g}", _csv_safe("; ".join(r.failing)),
                      "" if r.time_to_detect_s is None else f"{r.time_to_detect_s:g}",
                      "" if r.time_to_fix_s is None else f"{r.time_to_fix_s:g}",
                      "" if r.hints is None else r.hints, "" if r.attempts is None else r.attempts,
                      _csv_safe(r.mode or ""), _csv_safe(r.when), _csv_safe(r.source)])
    return buf.getvalue()


_COLOR = {"pass": "#2e7d32", "fail": "#c62828", "error": "#b26a00"}


def _ticks(top: float) -> list[float]:
    """Round minute marks for an axis up to `top` seconds (about five of them)."""
    minutes = max(top / 60, 1)
    step = next(s for s in (1, 2, 5, 10, 15, 20, 30, 60, 120, 240, 480, 10**9) if minutes / s <= 6)
    return [m * 60.0 for m in range(0, int(minutes // step) * step + step + 1, step)]


def chart(rows: list[Row]) -> str:
    """An inline SVG bar chart: one bar per learner with a time to fix, coloured by verdict."""
    timed = [r for r in rows if r.time_to_fix_s is not None]
    if not timed:
        return '<p class="muted">No report carries a time to fix yet.</p>'
    label_w, bar_h, gap, plot_w = 180, 22, 8, 520
    ticks = _ticks(max(r.time_to_fix_s or 0 for r in timed))
    top = ticks[-1] or 60.0
    height = 30 + len(timed) * (bar_h + gap) + 30
    width = label_w + plot_w + 110
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-labelledby="chart-title">',
             '<title id="chart-title">Time to fix per learner</title>']
    axis_y = 20 + len(timed) * (bar_h + gap)
    for t in ticks:
        x = label_w + plot_w * t / top
        parts.append(f'<line x1="{x:.1f}" y1="16" x2="{x:.1f}" y2="{axis_y}" class="grid"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" class="tick">{int(t // 60)} min</text>')
    for i, r in enumerate(timed):
        y = 20 + i * (bar_h + gap)
        w = max(plot_w * (r.time_to_fix_s or 0) / top, 1.0)
        name = html.escape(r.learner if len(r.learner) <= 24 else r.learner[:23] + "…")
        tip = html.escape(f"{r.learner}: {r.verdict}, time to fix {duration(r.time_to_fix_s)}")
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end" class="name">{name}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" '
                     f'fill="{_COLOR.get(r.verdict, "#555")}"><title>{tip}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.7:.1f}" class="value">'
                     f'{html.escape(duration(r.time_to_fix_s))}</text>')
    parts.append(f'<text x="{label_w + plot_w / 2:.0f}" y="{height - 2}" text-anchor="middle" class="tick">'
                 'time to fix (lab clock)</text>')
    parts.append("</svg>")
    return "\n".join(parts)


CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #1d1d1f; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } .muted { color: #666; }
table { border-collapse: collapse; margin: 1rem 0 2rem; min-width: 60%; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .7rem; text-align: left; vertical-align: top; }
th { background: #f4f4f6; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #2e7d32; font-weight: 600; } .fail { color: #c62828; font-weight: 600; }
.error { color: #b26a00; font-weight: 600; }
svg .grid { stroke: #e3e3e8; } svg .tick { font-size: 11px; fill: #666; }
svg .name { font-size: 12px; fill: #1d1d1f; } svg .value { font-size: 11px; fill: #333; }
"""


LEGEND = ('<p class="muted">Bars: <span class="pass">pass</span>, <span class="fail">fail</span>, '
          '<span class="error">error</span>. For a learner who has not passed, the time on their lab clock when '
          "the report was written.</p>")


def as_html(rows: list[Row], problems: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = []
    for r in rows:
        c = [html.escape(x) for x in cells(r)]
        verdict = r.verdict if r.verdict in _COLOR else ""
        body.append(f'<tr><td>{c[0]}</td><td class="{verdict}">{c[1]}</td><td class="num">{c[2]}</td><td>{c[3]}</td>'
                    f'<td class="num">{c[4]}</td><td class="num">{c[5]}</td><td class="num">{c[6]}</td>'
                    f'<td class="num">{c[7]}</td></tr>')
    extra = ""
    if problems:
        extra = "<h2>Reports that could not be read</h2><ul>" + "".join(
            f"<li>{html.escape(p)}</li>" for p in problems) + "</ul>"
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>The $516k Gap — roll-up</title><style>{CSS}</style></head><body>\n"
            f"<h1>The $516k Gap — roll-up</h1>\n"
            f"<p class=\"muted\">{html.escape(counts(rows))} · generated {generated}</p>\n"
            f"<h2>Time to fix</h2>\n{chart(rows)}\n{LEGEND}\n"
            f"<h2>Learners</h2>\n<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body) +
            f"\n</tbody></table>\n{extra}</body></html>\n")


def write(rows: list[Row], out: Path, problems: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    texts = dict(zip(NAMES, (as_markdown(rows, problems), as_csv(rows), as_html(rows, problems)), strict=True))
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in NAMES]


def main(folder: Path, out: Path | None = None, *, latest: bool = True, quiet: bool = False) -> int:
    rows, problems = collect(folder, latest=latest)
    if not rows and not problems:
        print(f"Error: no {REPORT} under {folder} — give the folder the reports were written to", file=sys.stderr)
        return 1
    files = write(rows, out or folder, problems)
    if not quiet:
        sys.stdout.write(as_markdown(rows, problems))
        print(f"\nroll-up: {', '.join(str(f) for f in files)}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.rollup", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--all", action="store_true", help="one row per report, not per learner")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    return main(args.folder, args.out, latest=not args.all)


if __name__ == "__main__":
    sys.exit(cli())
