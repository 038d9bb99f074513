"""The checker's pieces on their own (no servers): dbt's errors read, the static scan, the comparison of
shipped tests, the three outcomes, the report shapes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from checks import dbt_errors, honesty, probe, reports, shipped_tests, targets
from checks.build import Build, Phase
from checks.outcome import CheckError, Criterion, Report, Status, errored, judged, not_reached
from lab.dbt import DbtRun

pytestmark = pytest.mark.unit


def test_a_jinja_error_names_file_and_line(tmp_path: Path) -> None:
    out = ("Encountered an error:\nCompilation Error in model fct_orders (models/marts/fct_orders.sql)\n"
           "  unexpected '}', expected ')'\n    line 5\n      select * from {{ ref('stg_orders' }}\n")
    located = dbt_errors.locate(out, tmp_path)
    assert located.one_line() == "models/marts/fct_orders.sql line 5: unexpected '}', expected ')' (Compilation Error)"


def test_a_database_error_is_mapped_to_the_source_line(tmp_path: Path) -> None:
    model = tmp_path / "models" / "fct_orders.sql"
    model.parent.mkdir()
    model.write_text("select\n    *\n    form orders\n")
    msg = ('Database Error in model fct_orders (models/fct_orders.sql)\n  syntax error at or near "form"\n'
           "  LINE 9:     form orders\n               ^\n  compiled code at /x/run/fct_orders.sql")
    assert dbt_errors.locate(msg, tmp_path).one_line() == \
        'models/fct_orders.sql line 3: syntax error at or near "form" (Database Error)'
    assert dbt_errors.permission_denied("ERROR: permission denied for schema erp") == ["schema erp"]


def test_a_yaml_error_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "models" / "marts").mkdir(parents=True)
    (tmp_path / "models" / "marts" / "bad.yml").write_text("x")
    out = ("Parsing Error\n  Error reading shop_analytics: marts/bad.yml - Runtime Error\n"
           "    Syntax error near line 4\n")
    located = dbt_errors.locate(out, tmp_path)
    assert (located.path, located.line) == ("models/marts/bad.yml", 4)


def _build(tmp_path: Path, models: dict[str, str], hooks: list[str] | None = None) -> Build:
    nodes, results = {}, []
    for name, sql in models.items():
        uid = f"model.p.{name}"
        path = f"models/{name}.sql"
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(sql)
        nodes[uid] = {"resource_type": "model", "name": name, "original_file_path": path, "raw_code": sql,
                      "config": {}}
        results.append({"unique_id": uid, "status": "success", "compiled_code": sql})
    for i, hook in enumerate(hooks or []):
        nodes[f"operation.p.p-on-run-start-{i}"] = {"resource_type": "operation", "raw_code": hook}
    run = DbtRun(["dbt"], 0, "", 0.0, tmp_path, results)
    return Build("check_x", tmp_path, Phase(run, 60), manifest={"nodes": nodes, "metadata": {"project_name": "p"}})


def test_the_static_scan_names_each_trick(tmp_path: Path) -> None:
    ids = ", ".join(str(7000 + i) for i in range(12))
    build = _build(tmp_path, {
        "fct": f"select *, order_id in ({ids}) as is_refunded from o\n-- since 2026-06-20 (a comment is fine)\n",
        "rq": "select net_revenue - 516000.00 as net_revenue from q where day < '2026-06-20'\n",
        "ok": "select (amount)::numeric(12, 2), date_trunc('quarter', d) from o where d >= '2026-04-01'\n",
        "erp": 'select * from "warehouse"."erp"."daily_control_totals"\n',
    }, hooks=["delete from raw.orders where refunded_at is not null"])
    found = honesty.scan(build, {"the Δ": Decimal("516000.00")}, lambda xs: [x for x in xs if x >= 7000],
                         ["daily_control_totals"])
    by = {(f.what, f.where) for f in found}
    assert ("a list of order ids stands in for the logic", "models/fct.sql line 1") in by
    assert ("a literal stands in for the logic", "models/rq.sql line 1") in by
    assert ("a date cut-off tuned to the seed", "models/rq.sql line 1") in by
    assert ("reads the answer from the ERP", "models/erp.sql line 1") in by
    assert any(f.what == "changes the landing data" for f in found)
    assert not any("ok.sql" in f.where for f in found)
    assert not any(f.what == "a date cut-off tuned to the seed" and "fct" in f.where for f in found)
    assert honesty.judge(found, True).status is Status.FAIL


def _manifest(tests: list[dict], units: list[dict] | None = None, macros: list[dict] | None = None) -> dict:
    nodes = {f"test.p.{i}": {"resource_type": "test", **t} for i, t in enumerate(tests)}
    return {"metadata": {"project_name": "p"}, "nodes": nodes,
            "unit_tests": {f"unit_test.p.{u['name']}": u for u in units or []},
            "macros": {f"macro.p.{m['name']}": {"package_name": "p", **m} for m in macros or []}}


NOT_NULL = {"name": "not_null_x", "test_metadata": {"name": "not_null", "kwargs": {"column_name": "id"}},
            "attached_node": "model.p.fct", "column_name": "id", "config": {"severity": "ERROR"},
            "depends_on": {"macros": ["macro.dbt.test_not_null"]}}
UNIT = {"name": "u1", "model": "fct", "given": [{"input": "ref('stg')", "rows": [{"id": 1}], "format": "dict"}],
        "expect": {"rows": [{"id": 1}], "format": "dict"}, "overrides": None}


def test_shipped_tests_deleted_loosened_or_changed_are_reported() -> None:
    base = _manifest([NOT_NULL], [UNIT])
    assert shipped_tests.compare(base, base)[0] == []
    warn = {**NOT_NULL, "config": {"severity": "warn"}}
    problems, count = shipped_tests.compare(base, _manifest([warn], [UNIT]))
    assert count == 2 and problems == ["not_null on fct.id: loosened (severity 'ERROR' → 'WARN')"]
    assert shipped_tests.compare(base, _manifest([], [UNIT]))[0] == ["not_null on fct.id: deleted or disabled"]
    changed = {**UNIT, "expect": {"rows": [], "format": "dict"}}
    assert "its `expect` changed" in shipped_tests.compare(base, _manifest([NOT_NULL], [changed]))[0][0]
    override = _manifest([NOT_NULL], [UNIT], [{"name": "test_not_null", "original_file_path": "macros/t.sql"}])
    assert "overrides dbt's own test machinery" in shipped_tests.compare(base, override)[0][0]


def test_an_extra_unit_test_input_is_not_a_loosening() -> None:
    base = _manifest([NOT_NULL], [UNIT])
    extra = {**UNIT, "given": [*UNIT["given"], {"input": "ref('int')", "rows": [{"id": 1}], "format": "dict"}]}
    assert shipped_tests.compare(base, _manifest([NOT_NULL], [extra]))[0] == []
    removed = {**UNIT, "given": extra["given"][1:]}
    assert "its input ref('stg') was removed" in shipped_tests.compare(base, _manifest([NOT_NULL], [removed]))[0][0]


def _report(mode: str, *criteria: Criterion) -> Report:
    return Report(mode, criteria=list(criteria))


def test_three_outcomes_never_confused() -> None:
    ok = [judged(n, True, "ok") for n in range(2, 7)]
    skip1 = Criterion(1, Status.SKIP, "judged by lab grade")
    assert _report("check", skip1, *ok).status is Status.PASS
    assert _report("grade", skip1, *ok).status is Status.ERROR  # grading must judge criterion 1
    boom = errored(4, CheckError("CDC did not deliver", "run it again"))
    assert _report("check", skip1, *ok[:2], boom, *ok[3:]).status is Status.ERROR
    wrong = judged(3, False, "tile ≠ ERP")
    assert _report("check", skip1, ok[0], wrong, boom, *ok[3:]).status is Status.FAIL  # a real fail is a verdict
    assert _report("check", skip1, judged(2, False, "x"), not_reached(3, "y"), *ok[2:]).status is Status.FAIL


def test_reports_have_the_shapes_graders_consume(tmp_path: Path) -> None:
    rep = _report("grade", judged(1, False, "files outside dbt_project/ differ: lab/cli.py", ["file comparison"]),
                  *[judged(n, True, "ok") for n in range(2, 7)],
                  Criterion(None, Status.FAIL, "2/4 caught", score=2, max_score=4))
    rep.lab.update({"variant_seed": 516, "time_to_fix_s": 600.0, "hints_used": 2, "probe": {"seed": 7}})
    files = reports.write(rep, tmp_path)
    doc = json.loads(files[0].read_text())
    # v3: a top-level message only when the run errored; a grade that fails scores 0 (tests/grading has the rest)
    assert doc["version"] == 3 and doc["status"] == "fail" and doc["message"] is None
    assert [t["status"] for t in doc["tests"]] == ["fail"] + ["pass"] * 6
    assert doc["tests"][-1]["earned"] == 2 and doc["tests"][-1]["max_score"] == 4 and doc["score"] == 0
    assert doc["lab"]["variant_seed"] == 516 and doc["lab"]["caught"][0]["criterion"] == 1
    suite = ET.parse(files[1]).getroot()
    assert suite.get("failures") == "1" and len(suite.findall("testcase")) == 7
    assert "❌ **FAIL**" in files[2].read_text()


def test_only_paths_outside_dbt_project_are_tampering() -> None:
    assert targets._outside(["dbt_project/models/a.sql", "checks/x.py", "dbt_project", "README.md"]) == \
        ["README.md", "checks/x.py"]


def test_the_probe_names_what_the_tile_ignored() -> None:
    p = probe.Probe(1, None, [probe.Action(probe.NEW, 1, Decimal("100.00")),
                              probe.Action(probe.V2, 2, Decimal("30.00")),
                              probe.Action(probe.CANCEL, 3, Decimal("5.00"))])
    assert p.erp_delta == Decimal("65.00")
    assert probe.explain_gap(p, Decimal("95.00")) == "the probe's v2 refunds still count as revenue"
    assert probe.explain_gap(p, Decimal("-35.00")) == "the probe's new orders did not add to the tile"
