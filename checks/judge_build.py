"""Criterion 2: every model builds and every test passes — and the nodes that should run really ran
(an empty selection is not a pass)."""

from __future__ import annotations

from typing import Any

from checks import dbt_errors
from checks.build import Build, Phase
from checks.outcome import Criterion, judged

RUN = "dbt build (models, seeds, snapshots) as lab_transformer"
TEST = "dbt test as lab_tester"
OK_MODEL = {"success"}
OK_TEST = {"pass", "warn"}  # a warning is a pass here; criterion 6 catches a shipped test loosened to warn


def nodes(manifest: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    if resource_type == "unit_test":
        return dict(manifest.get("unit_tests", {}))
    return {k: v for k, v in manifest.get("nodes", {}).items() if v.get("resource_type") == resource_type}


def model_names(manifest: dict[str, Any]) -> set[str]:
    return {n["name"] for n in nodes(manifest, "model").values()}


def judge(build: Build, base_manifest: dict[str, Any]) -> Criterion:
    problem = _models_problem(build, base_manifest) or _tests_problem(build)
    if problem:
        message, mechanism = problem
        return judged(2, False, message, [mechanism])
    n_models = sum(1 for r in build.models.results if r["unique_id"].startswith("model."))
    tests = [r for r in (build.tests.results if build.tests else []) if not r["unique_id"].startswith("operation.")]
    units = sum(1 for r in tests if r["unique_id"].startswith("unit_test."))
    warned = sum(1 for r in tests if r["status"] == "warn")
    msg = (f"{n_models} models built, {len(tests)} tests passed ({len(tests) - units} data, {units} unit)"
           + (f"; {warned} with warnings" if warned else ""))
    return judged(2, True, msg, [RUN, TEST], models=n_models, tests=len(tests))


def _timeout(phase: Phase, what: str) -> str:
    running = _still_running(phase.run.output)
    return (f"{what} ran longer than the timeout of {phase.timeout:.0f} s"
            + (f" ({running} was still running)" if running else "")
            + " — make it faster, or give it more time with `--timeout`")


def _still_running(output: str) -> str | None:
    started, finished = [], set()
    for line in output.splitlines():
        if " START " in line and " model " in line:
            started.append(line.split(" model ", 1)[1].split()[0])
        elif (" OK " in line or " ERROR " in line) and " model " in line:
            finished.add(line.split(" model ", 1)[1].split()[0])
    left = [m for m in started if m not in finished]
    return f"model {left[0].split('.')[-1]}" if left else None


def _models_problem(build: Build, base_manifest: dict[str, Any]) -> tuple[str, str] | None:
    phase = build.models
    if phase.timed_out:
        return _timeout(phase, "a model"), f"{RUN} (timeout)"
    if not phase.results and not phase.run.ok:
        return _explain(phase.run.output, build), RUN
    failed = [r for r in phase.results if r["status"] not in OK_MODEL]
    errors = [r for r in failed if r["status"] == "error"]
    if errors:
        first = errors[0]
        where = dbt_errors.node_where(first["unique_id"], build.manifest)
        msg = _explain(first.get("message") or "", build, where) if first.get("message") else \
            f"{where or _name(first)} did not build"
        more = f" (and {len(errors) - 1} more model errors)" if len(errors) > 1 else ""
        return msg + more, RUN
    if not phase.results:
        return "dbt ran no model at all (an empty selection is not a pass)", RUN
    if build.misplaced:
        more = f" (and {len(build.misplaced) - 1} more)" if len(build.misplaced) > 1 else ""
        return (f"{build.misplaced[0]}{more}, outside the checker's schema {build.schema} — the checker builds "
                "your project where it reads it; keep dbt's default generate_schema_name (a custom schema "
                f"becomes {build.schema}_<name>)", RUN)
    if failed:
        return f"{len(failed)} models were skipped, e.g. {_name(failed[0])}", RUN
    missing_runs = set(nodes(build.manifest, "model")) - {r["unique_id"] for r in phase.results}
    if missing_runs:
        return f"dbt did not run every model: {', '.join(sorted(m.split('.')[-1] for m in missing_runs))}", RUN
    gone = model_names(base_manifest) - model_names(build.manifest)
    if gone:
        return (f"the shipped model(s) {', '.join(sorted(gone))} are gone (the tile reads revenue_quarterly)",
                RUN)
    return None


def _tests_problem(build: Build) -> tuple[str, str] | None:
    phase = build.tests
    if phase is None:
        return "the tests did not run", TEST
    if phase.timed_out:
        return _timeout(phase, "a test"), f"{TEST} (timeout)"
    if not phase.results and not phase.run.ok:
        return _explain(phase.run.output, build), TEST
    expected = set(nodes(build.manifest, "test")) | set(nodes(build.manifest, "unit_test"))
    # The project's on-run-start/-end hooks run in `dbt test` too (as lab_tester): they report "success".
    hooks = [r for r in phase.results if r["unique_id"].startswith("operation.")]
    failed_hooks = [r for r in hooks if r["status"] not in OK_MODEL]
    if failed_hooks:
        where = dbt_errors.node_where(failed_hooks[0]["unique_id"], build.manifest) or "a hook"
        return f"{where} failed when the tests ran (as lab_tester): {_why(failed_hooks[0])}", TEST
    results = [r for r in phase.results if not r["unique_id"].startswith("operation.")]
    ran = {r["unique_id"] for r in results}
    if not ran:
        return "dbt ran no test at all (an empty selection is not a pass)", TEST
    bad = [r for r in results if r["status"] not in OK_TEST]
    if bad:
        names = ", ".join(f"{_name(r)} ({_why(r)})" for r in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        return f"{len(bad)} of {len(results)} tests failed: {names}{more}", TEST
    if expected - ran:
        left = sorted(u.split(".")[-1] for u in expected - ran)
        return f"dbt did not run every test: {', '.join(left[:5])}", TEST
    return None


def _name(result: dict[str, Any]) -> str:
    return result["unique_id"].split(".")[-1] if result["unique_id"].startswith("unit_test.") \
        else result["unique_id"].split(".")[2]


def _why(result: dict[str, Any]) -> str:
    msg = (result.get("message") or result["status"]).strip()
    lines = [ln.strip() for ln in msg.splitlines() if ln.strip()]
    first = lines[0] if lines else result["status"]
    if first.endswith("error:") and len(lines) > 1:  # a hook: "on-run-end failed, error:" then the reason
        first = f"{first} {lines[1]}"
    if result["unique_id"].startswith("unit_test.") and result["status"] == "fail":
        return "the model's output differs from the expected rows"
    return first[:160]


def _explain(text: str, build: Build, where: str | None = None) -> str:
    denied = dbt_errors.permission_denied(text)
    located = dbt_errors.locate(text, build.project_dir)
    where = where or ((located.path or located.node) if located else None)
    if any(d.startswith("schema erp") for d in denied):
        return (f"{where or 'a model'} did not build: it reads schema erp, which the role that builds "
                "models cannot read")
    if any(d.startswith(("table orders", "table customers", "schema raw")) for d in denied):
        return (f"{where or 'a hook'} did not run: it tries to change the landing tables in raw, which the "
                "roles of dbt cannot write")
    if located:
        return located.one_line()
    tail = [ln for ln in text.strip().splitlines() if ln.strip()][-3:]
    return "dbt failed: " + " / ".join(s.strip() for s in tail)
