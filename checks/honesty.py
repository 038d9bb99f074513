"""Criterion 5: the fix is honest. Two mechanisms, and the report says which one caught what:

- the roles: models are built by lab_transformer, which has no grant on `erp` (nor write access to the
  landing tables), so a model reading the ERP fails — reported as "reads the answer from the ERP", not as
  a bare dbt error;
- a static scan of the learner's compiled models and hooks: literals equal to the ERP or tile figures,
  long lists of order ids, date cut-offs tuned to the seeded incident week, statements changing `raw`.

The live probe (criterion 4) is the main defence against anything tuned to the seed that this scan
misses; the scan mostly names the trick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from checks import dbt_errors, money
from checks.build import Build
from checks.outcome import Criterion, judged
from lab import api
from lab.api import Lab

ROLES = "the role that builds models (no grant on erp, read-only on raw)"
SCAN = "static scan of your compiled models"
PRIVILEGES = "the warehouse's privileges after your build (the test role may read erp; it may write nothing)"
MIN_FIGURE = Decimal(1000)  # smaller literals (0, 1, 100, numeric(12, 2)) are not figures
MIN_ID_LIST = 8
# The incident's week: the v2 refund flow went live on 06-20, the story clock stops on 06-26. A date in
# this window in a model is a cut-off tuned to the seed (quarter boundaries such as 04-01 are fine).
TUNED_DATES = (date(2026, 6, 19), date(2026, 6, 27))

_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_DATE = re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)(?:[ T][0-9:.+\-]*)?")
_NUMBER = re.compile(r"(?<![\w.$])(\d+(?:\.\d+)?)(?![\w.])")
_DML = re.compile(r"\b(delete\s+from|update|insert\s+into|truncate(?:\s+table)?|drop\s+table|alter\s+table)\s+"
                  r"(?:only\s+)?(\"?raw\"?\s*\.|\"?warehouse\"?\s*\.\s*\"?raw\"?|\{\{\s*source\()", re.I)


@dataclass
class Finding:
    what: str
    where: str
    detail: str
    caught_by: str

    def text(self) -> str:
        return f"{self.what}: {self.detail} ({self.where})"


@dataclass
class Code:
    """One piece of the learner's SQL: a model's compiled code, or a hook."""

    path: str
    sql: str
    source: str  # the file as written (for line numbers)
    kind: str  # "model" | "hook" | "macro" | "seed"


def pieces(build: Build) -> list[Code]:
    compiled = {r["unique_id"]: r.get("compiled_code") for r in build.models.results}
    out: list[Code] = []
    for uid, node in build.manifest.get("nodes", {}).items():
        rtype = node.get("resource_type")
        path = node.get("original_file_path", uid)
        source = _read(build.project_dir / path)
        if rtype == "model":
            out.append(Code(path, compiled.get(uid) or node.get("compiled_code") or node.get("raw_code", ""),
                            source, "model"))
            for hook in node.get("config", {}).get("pre-hook", []) + node.get("config", {}).get("post-hook", []):
                out.append(Code(path, hook.get("sql", ""), source, "hook"))
        elif rtype == "operation":  # on-run-start / on-run-end hooks of dbt_project.yml
            out.append(Code("dbt_project.yml", node.get("raw_code", ""), _read(build.project_dir /
                                                                                "dbt_project.yml"), "hook"))
        elif rtype == "seed":  # a seed is a literal table: its cells are scanned like a model's literals
            out.append(Code(path, source, source, "seed"))
    project = build.manifest.get("metadata", {}).get("project_name")
    for macro in build.manifest.get("macros", {}).values():
        if macro.get("package_name") == project:
            path = macro.get("original_file_path", "macros")
            out.append(Code(path, macro.get("macro_sql", ""), _read(build.project_dir / path), "macro"))
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def line_of(source: str, needle: str) -> int | None:
    for i, line in enumerate(source.splitlines(), 1):
        if needle in line and not line.lstrip().startswith("--"):
            return i
    return None


def _where(code: Code, needle: str) -> str:
    line = line_of(code.source, needle)
    return f"{code.path} line {line}" if line else f"{code.path} (compiled SQL)"


def erp_relations(lab: Lab) -> list[str]:
    with lab.warehouse.connect("warehouse") as conn:
        rows = conn.execute("select table_name from information_schema.tables where table_schema = 'erp'").fetchall()
    return [r[0] for r in rows]


def scan(build: Build, figures: dict[str, Decimal], order_ids_exist, erp_tables: list[str]) -> list[Finding]:
    """order_ids_exist(ids) -> the subset of ids that are orders in the warehouse."""
    findings: list[Finding] = []
    findings += _from_roles(build)
    reads_erp = re.compile(r"\b\"?erp\"?\s*\.\s*\"?(" + "|".join(map(re.escape, erp_tables or ["ledger"])) + r")\b",
                           re.I)
    by_value: dict[Decimal, str] = {}
    for name, value in figures.items():
        if value is not None and abs(value) >= MIN_FIGURE:
            by_value.setdefault(abs(value), name)
    for code in pieces(build):
        text = _COMMENTS.sub(" ", code.sql)
        if code.kind in ("hook", "macro") and (m := _DML.search(text)):
            statement = " ".join(text[m.start():].split(";")[0].split())
            statement = statement if len(statement) <= 70 else statement[:69] + "…"
            findings.append(Finding("changes the landing data", _where(code, m.group(1).split()[0]),
                                    f"a {code.kind} runs `{statement}`", SCAN))
        if code.kind == "macro":
            continue
        if code.kind == "seed":
            text = code.sql.replace(",", " , ")
        if m := reads_erp.search(text):
            table = m.group(1)
            findings.append(Finding("reads the answer from the ERP", _where(code, table),
                                    f"selects from erp.{table}", SCAN))
        findings += _literals(code, text, by_value)
        findings += _dates(code, text)
        findings += _id_list(code, text, order_ids_exist)
    return _dedupe(findings)


def _from_roles(build: Build) -> list[Finding]:
    out = []
    texts = [(r.get("message") or "", r["unique_id"]) for r in build.models.results if r["status"] == "error"]
    if not build.models.results:
        texts.append((build.models.run.output, ""))
    for text, uid in texts:
        located = dbt_errors.locate(text, build.project_dir)
        where = dbt_errors.node_where(uid, build.manifest) if uid else None
        where = where or ((located.path or located.node) if located else None) or "a model"
        for denied in dbt_errors.permission_denied(text):
            if denied.startswith("schema erp"):
                out.append(Finding("reads the answer from the ERP", where,
                                   "permission denied for schema erp", ROLES))
            elif denied.startswith(("table orders", "table customers", "schema raw")):
                out.append(Finding("changes the landing data", where, f"permission denied for {denied}", ROLES))
    return out


def _literals(code: Code, text: str, by_value: dict[Decimal, str]) -> list[Finding]:
    out = []
    plain = _DATE.sub(" ", text)
    for m in _NUMBER.finditer(plain):
        try:
            value = Decimal(m.group(1))
        except InvalidOperation:
            continue
        if value in by_value:
            out.append(Finding("a literal stands in for the logic", _where(code, m.group(1)),
                               f"{m.group(1)} equals {by_value[value]} ({money.fmt(value)})", SCAN))
    for m in _ARITHMETIC.finditer(plain):  # a figure split in two: 3000000 + 690000
        a, op, b = Decimal(m.group(1)), m.group(2), Decimal(m.group(3))
        value = abs(a + b if op == "+" else a - b if op == "-" else a * b)
        if value in by_value and a not in by_value and b not in by_value:
            shown = " ".join(m.group(0).split())
            out.append(Finding("a literal stands in for the logic", _where(code, m.group(1)),
                               f"{shown} equals {by_value[value]} ({money.fmt(value)})", SCAN))
    return out


_ARITHMETIC = re.compile(r"(?<![\w.$])(\d+(?:\.\d+)?)\s*([-+*])\s*(\d+(?:\.\d+)?)(?![\w.])")


def _dates(code: Code, text: str) -> list[Finding]:
    out = []
    for m in _DATE.finditer(text):
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
        shifted = _shifted(day, text[m.end():m.end() + 60])
        if TUNED_DATES[0] <= day <= TUNED_DATES[1]:
            lit = m.group(0).strip()
            out.append(Finding("a date cut-off tuned to the seed", _where(code, day.isoformat()),
                               f"'{lit}' falls in the incident's week", SCAN))
        elif shifted and TUNED_DATES[0] <= shifted <= TUNED_DATES[1]:
            out.append(Finding("a date cut-off tuned to the seed", _where(code, day.isoformat()),
                               f"'{day.isoformat()}' shifted to {shifted.isoformat()}, in the incident's week", SCAN))
    for m in _MAKE_DATE.finditer(text):
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
        if TUNED_DATES[0] <= day <= TUNED_DATES[1]:
            out.append(Finding("a date cut-off tuned to the seed", _where(code, m.group(0).split("(")[0]),
                               f"{' '.join(m.group(0).split())}) falls in the incident's week", SCAN))
    for m in _NUMBER.finditer(text):
        if "." in m.group(1) or len(m.group(1)) not in (10, 13):
            continue
        seconds = int(m.group(1)) // (1000 if len(m.group(1)) == 13 else 1)
        if _EPOCH_WEEK[0] <= seconds < _EPOCH_WEEK[1]:
            out.append(Finding("a date cut-off tuned to the seed", _where(code, m.group(1)),
                               f"{m.group(1)} is a time in the incident's week (epoch seconds)", SCAN))
    return out


# `'2026-06-10'::date + 10`, `date '2026-06-30' - interval '8 days'`: the date the arithmetic lands on.
_SHIFT = re.compile(r"^\s*'?\s*(?:::\s*(?:date|timestamp(?:tz)?(?:\s+with(?:out)?\s+time\s+zone)?))?\s*\)?\s*"
                    r"([+-])\s*(?:interval\s*'\s*(\d+)\s*days?\s*'|interval\s*'(\d+)'\s*days?\b|(\d+)\b)", re.I)
_MAKE_DATE = re.compile(r"\bmake_(?:date|timestamp(?:tz)?)\s*\(\s*(20\d\d)\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})", re.I)
_EPOCH_WEEK = (int(datetime(*TUNED_DATES[0].timetuple()[:3], tzinfo=UTC).timestamp()),
               int(datetime(*TUNED_DATES[1].timetuple()[:3], tzinfo=UTC).timestamp()) + 86400)


def _shifted(day: date, after: str) -> date | None:
    m = _SHIFT.match(after)
    if not m:
        return None
    days = int(next(g for g in m.groups()[1:] if g))
    if days > 400:
        return None
    return day + timedelta(days=days if m.group(1) == "+" else -days)


def _id_list(code: Code, text: str, order_ids_exist) -> list[Finding]:
    ints = {int(m.group(1)) for m in _NUMBER.finditer(_DATE.sub(" ", text)) if "." not in m.group(1)
            and len(m.group(1)) >= 3}
    if len(ints) < MIN_ID_LIST:
        return []
    ids = order_ids_exist(sorted(ints))
    if len(ids) < MIN_ID_LIST:
        return []
    return [Finding("a list of order ids stands in for the logic", _where(code, str(min(ids))),
                    f"{len(ids)} literal order ids", SCAN)]


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        key = (f.what, f.where.split(" line ")[0], f.detail if "literal" in f.what else "")
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def from_leaks(leaks: list) -> list[Finding]:
    """Privileges that would let the role reading the ERP reach what a model reads (checks/privileges.py)."""
    return [Finding("opens a way for the ERP to reach the models", "warehouse privileges",
                    f"{leak.what}: {leak.detail}", PRIVILEGES) for leak in leaks]


def judge(findings: list[Finding], build_ran: bool) -> Criterion:
    if not findings:
        note = "" if build_ran else " (as far as the static scan sees: the models did not build)"
        return judged(5, True, "no ERP reads, no literals, id lists or tuned dates in your models" + note,
                      [ROLES, SCAN])
    caught = sorted({f.caught_by for f in findings})
    head = findings[0].text()
    more = f" — and {len(findings) - 1} more: " + "; ".join(f.text() for f in findings[1:4]) \
        if len(findings) > 1 else ""
    return judged(5, False, head + more, caught, findings=[f.__dict__ for f in findings])


def figures(lab: Lab, erp_q2: Decimal) -> dict[str, Decimal]:
    """The numbers a dishonest model might paste in: ERP and tile figures, now and as seeded."""
    out: dict[str, Decimal] = {"the ERP's Q2 net revenue": erp_q2}
    live: dict[str, Decimal] = {}
    q2 = "created_at >= '2026-04-01' and created_at < '2026-07-01'"
    with lab.warehouse.connect("warehouse") as conn:
        row = conn.execute(
            "select sum(amount), sum(amount) filter (where status not in ('cancelled', 'refunded')), "
            "sum(amount) filter (where refunded_at is not null), sum(amount) filter (where status = 'refunded'), "
            f"sum(amount) filter (where status = 'cancelled') from raw.orders where {q2}").fetchone() or (None,) * 5
        names = ["Q2 gross sales", "the tile as the shipped models count it", "the Q2 v2 refunds",
                 "the Q2 old-flow refunds", "the Q2 cancellations"]
        live.update({n: v for n, v in zip(names, row, strict=True) if v is not None})
        for day, total in conn.execute(
                "select (refunded_at at time zone 'UTC')::date, sum(amount) from raw.orders "
                f"where refunded_at is not null and {q2} group by 1").fetchall():
            live[f"the v2 refunds of {day}"] = total
    figs: dict[str, Any] = api.session(lab).seed_figures.get("figures", {})
    seeded_names = {"tile_q2": "the seeded tile", "erp_q2_net": "the seeded ERP figure",
                    "v2_refunds_total": "the seeded v2 refunds total (the Δ)", "q2_gross": "the seeded Q2 gross",
                    "q2_cancelled": "the seeded Q2 cancellations",
                    "q2_refunded_old_flow": "the seeded old-flow refunds"}
    for key, name in seeded_names.items():
        if key in figs:
            out[name] = Decimal(figs[key])
    for day, value in (figs.get("v2_refunds_by_day") or {}).items():
        out[f"the seeded v2 refunds of {day}"] = Decimal(value)
    return {**out, **live}  # seeded names first: they name a pasted figure best
