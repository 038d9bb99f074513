"""The regression guard (scored, not required): would the learner's tests notice if the models broke
again? Their tests are run against the original defective models and against a few other wrong variants
(checks/variants/); each variant must make at least one of their tests fail.

How the learner's tests meet the variant models (a pragmatic choice): the learner's whole project is
copied and only the files of the three shipped models (`stg_orders`, `fct_orders`, `revenue_quarterly`,
found by model name wherever the learner keeps them) are replaced by the variant's. Everything else of
the learner's — extra models, YAML, tests, macros — stays, so their tests run unchanged. A test counts
as catching a variant when it passed on the learner's own models and fails (or errors) on the variant:
an error there is caused by the variant, e.g. a test that needs the `refunded_at` column the original
models drop. A learner whose tests only cover a model they added (say an intermediate model) is not
credited, since the variants leave that model intact.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql

from checks import build as builder
from checks.build import Build
from checks.outcome import Criterion, Status
from lab import dbt
from lab.stack import Lab

VARIANTS_DIR = Path(__file__).resolve().parent / "variants"
VARIANTS = {
    "defective": "the original defective models",
    "v2_refunds_dropped": "v2 refunds counted as revenue",
    "old_flow_refunds_dropped": "old-flow refunds counted as revenue",
    "cancellations_counted": "cancellations counted as revenue",
}
SHIPPED_PATHS = {"stg_orders": "models/staging/stg_orders.sql", "fct_orders": "models/marts/fct_orders.sql",
                 "revenue_quarterly": "models/marts/revenue_quarterly.sql"}
CAUGHT = {"fail", "error", "warn"}
IGNORE = shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml", "__pycache__")


@dataclass
class Outcome:
    variant: str
    caught_by: list[str] = field(default_factory=list)
    problem: str | None = None  # the variant could not be built with the learner's project

    @property
    def caught(self) -> bool:
        return bool(self.caught_by)

    def as_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "description": VARIANTS[self.variant], "caught": self.caught,
                "caught_by": self.caught_by, "problem": self.problem}


def _model_paths(manifest: dict[str, Any]) -> dict[str, str]:
    out = dict(SHIPPED_PATHS)
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model" and node.get("name") in out:
            out[node["name"]] = node["original_file_path"]
    return out


def prepare(project: Path, manifest: dict[str, Any], variant: str, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(project, dest, ignore=IGNORE)
    for name, rel in _model_paths(manifest).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(VARIANTS_DIR / variant / f"{name}.sql", target)
    return dest


def _one(lab: Lab, baseline: set[str], project: Path, manifest: dict[str, Any], variant: str, schema: str,
         work: Path, timeout: float) -> Outcome:
    copy = prepare(project, manifest, variant, work / "project")
    # One `dbt build` per variant as lab_tester, in a schema made for it (the guard's speed matters: four
    # builds). lab_tester can read erp, so a learner's reconciliation test works here as it does in the
    # main build; what the variant builds is only ever used for these test results, then dropped.
    with lab.warehouse.connect("warehouse") as conn:
        conn.execute(sql.SQL("create schema {} authorization lab_tester").format(sql.Identifier(schema)))
    phase = builder.Phase(dbt.run(lab.settings, ["build", *builder.SELECT_ALL], project_dir=copy, schema=schema,
                                  target="test", target_path=work / "build", timeout=timeout), timeout)
    if phase.timed_out:
        builder.cancel_queries(lab, schema)
    status = phase.status_of()
    if not status:
        return Outcome(variant, problem="your project does not build with these models")
    caught = sorted(uid for uid in baseline if status.get(uid) in CAUGHT)
    return Outcome(variant, [_short(uid) for uid in caught])


def _short(uid: str) -> str:
    parts = uid.split(".")
    return parts[-1] if uid.startswith("unit_test.") else parts[2]


def schemas_for(schema: str) -> list[str]:
    return [f"{schema}_g{i}" for i in range(len(VARIANTS))]


def run(lab: Lab, main: Build, work: Path, timeout: float, parallel: int = 2) -> Criterion:
    if not main.models_ok or main.tests is None:
        return Criterion(None, Status.SKIP, "not run: your models did not build", max_score=len(VARIANTS))
    baseline = {r["unique_id"] for r in main.tests.results if r["status"] == "pass"}
    jobs = list(zip(VARIANTS, schemas_for(main.schema), strict=True))
    with ThreadPoolExecutor(parallel) as pool:
        outcomes = list(pool.map(lambda job: _one(lab, baseline, main.project_dir, main.manifest, job[0], job[1],
                                                  work / f"guard-{job[0]}", timeout), jobs))
    caught = [o for o in outcomes if o.caught]
    parts = []
    for o in outcomes:
        if o.caught:
            parts.append(f"{VARIANTS[o.variant]}: caught by {', '.join(o.caught_by[:2])}"
                         + (f" (+{len(o.caught_by) - 2})" if len(o.caught_by) > 2 else ""))
        else:
            parts.append(f"{VARIANTS[o.variant]}: NOT caught" + (f" ({o.problem})" if o.problem else ""))
    status = Status.PASS if len(caught) == len(outcomes) else Status.FAIL
    message = f"{len(caught)}/{len(outcomes)} wrong variants caught by your tests — " + "; ".join(parts)
    return Criterion(None, status, message, ["your tests run against wrong variants of the models"],
                     score=float(len(caught)), max_score=float(len(outcomes)),
                     details={"variants": [o.as_dict() for o in outcomes]})
