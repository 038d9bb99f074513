"""The regression guard (scored, not required): would the learner's tests notice if the models broke
again? Their tests are run against the original defective models and against a few other wrong variants
(checks/variants/); each variant must make at least one of their tests fail.

How the learner's tests meet the variant models (a pragmatic choice): the learner's whole project is
copied and only the files of the three shipped models (`stg_orders`, `fct_orders`, `revenue_quarterly`,
found by file name wherever the learner keeps them) are replaced by the variant's. Everything else of
the learner's — extra models, YAML, tests, macros — stays, so their tests run unchanged. A test counts
as catching a variant when it passed on the learner's own models and fails (or errors) on the variant:
an error there is caused by the variant, e.g. a test that needs the `refunded_at` column the original
models drop. A learner whose tests only cover a model they added (say an intermediate model) is not
credited, since the variants leave that model intact.
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks import build as builder
from checks.build import Build
from checks.outcome import Criterion, Status
from lab import dbt
from lab.api import Lab

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
VARIANT_TESTS = ["test", "--select", *(f"{name}+" for name in SHIPPED_PATHS)]
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


def _model_paths(project: Path) -> dict[str, str]:
    """Where the learner keeps the three shipped models: dbt names a model after its file, wherever it is
    (found by file, so the guard can start before dbt has parsed anything)."""
    out = dict(SHIPPED_PATHS)
    for name in out:
        skip = {"target", "dbt_packages", "logs", "tests", "analyses"}
        hits = sorted(p for p in project.rglob(f"{name}.sql") if not skip & set(p.relative_to(project).parts))
        if hits:
            out[name] = hits[0].relative_to(project).as_posix()
    return out


def prepare(project: Path, variant: str, dest: Path) -> Path:
    """The learner's project at dest with the variant's three models in place of theirs (copied once; later
    variants only swap the three files, so dbt's partial parse re-reads just those)."""
    if not dest.exists():
        shutil.copytree(project, dest, ignore=IGNORE)
    for name, rel in _model_paths(project).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(VARIANTS_DIR / variant / f"{name}.sql", target)
    return dest


def _one(lab: Lab, session: dbt.Session, project: Path, variant: str, schema: str, work: Path,
         timeout: float, go: threading.Event) -> tuple[dict[str, str] | None, str | None]:
    """(test statuses, problem) of the learner's tests on one variant: the models built as lab_transformer,
    then the tests as lab_tester (which may read erp, so a reconciliation test catches what it would).
    Parsed at once; built only when the check says go (its roles' settings cleared, the data settled). The
    variants take turns in one folder and one schema, emptied before each (nothing of the last may answer)."""
    copy = prepare(project, variant, work / "project")
    key = f"{copy}#{variant}"
    session.parse(copy, schema, work / "parse", timeout, key=key, partial=True)
    go.wait()
    builder.drop_schemas(lab, [schema])
    built = session.run(builder.BUILD_ARGS, target="transform", target_path=work / variant / "build",
                        timeout=timeout, project_dir=copy, schema=schema, key=key)
    if built.returncode == -1:
        builder.cancel_queries(lab, schema)
    if not built.results:
        return None, "your project does not build with these models"
    if builder.misplaced(built.manifest(), schema):
        return None, "your project builds outside the schema it is given"
    # Tests run even if a model of the learner's failed on the variant: a test that then errors was
    # broken by the variant, which is what catching it means. Only the tests that can see a variant's models
    # (on them or downstream of them, dbt's eager indirect selection); the others' outcome cannot change.
    tested = session.run(VARIANT_TESTS, target="test", target_path=work / variant / "test", timeout=timeout,
                         project_dir=copy, schema=schema, key=key)
    if tested.returncode == -1:
        builder.cancel_queries(lab, schema)
    return {r["unique_id"]: r["status"] for r in tested.results}, None


def _short(uid: str) -> str:
    parts = uid.split(".")
    return parts[-1] if uid.startswith("unit_test.") else parts[2]


def schemas_for(schema: str) -> list[str]:
    """The guard's schemas: one per guard process (its variants take turns in it)."""
    return [f"{schema}_g{i}" for i in range(Guard.PROCESSES)]


class Guard:
    """The guard's builds, started at the beginning of a check in dbt processes of their own (two: one import
    of dbt each, one parse per variant), so they run while the checker builds, tests and probes the learner's
    own models; `result` waits for them and scores them against the tests that passed on those models."""

    PROCESSES = 1

    def __init__(self, lab: Lab, project: Path, schema: str, work: Path, timeout: float) -> None:
        schemas = schemas_for(schema)
        jobs = [(variant, schemas[i % self.PROCESSES]) for i, variant in enumerate(VARIANTS)]
        # Niced: the learner's own build, tests and probe (the verdict) go first; the guard fills the gaps.
        self.sessions = [dbt.Session(lab.settings, schema=schemas_for(schema)[i], work=work / f"guard-{i}",
                                     parse_now=False, nice=10) for i in range(self.PROCESSES)]
        self.pool = ThreadPoolExecutor(self.PROCESSES)
        self.go = threading.Event()

        def share(i: int) -> list[tuple[str, dict[str, str] | None, str | None]]:
            return [(v, *_one(lab, self.sessions[i], project, v, sch, work / f"guard-{i}", timeout, self.go))
                    for v, sch in jobs[i::self.PROCESSES]]

        self.futures = [self.pool.submit(share, i) for i in range(self.PROCESSES)]

    def start(self) -> None:
        """The builds may run now."""
        self.go.set()

    def result(self, main: Build) -> Criterion:
        try:
            done = {v: (statuses, problem) for f in self.futures for v, statuses, problem in f.result()}
        finally:
            self.close()
        if not main.models_ok or main.tests is None:
            return Criterion(None, Status.SKIP, "not run: your models did not build", max_score=len(VARIANTS))
        baseline = {r["unique_id"] for r in main.tests.results if r["status"] == "pass"}
        outcomes = []
        for variant in VARIANTS:
            statuses, problem = done[variant]
            if statuses is None:
                outcomes.append(Outcome(variant, problem=problem))
                continue
            caught = sorted(uid for uid in baseline if statuses.get(uid) in CAUGHT)
            outcomes.append(Outcome(variant, [_short(uid) for uid in caught]))
        return _criterion(outcomes)

    def close(self) -> None:
        for session in self.sessions:
            session.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def cancel(self) -> None:
        self.go.set()  # a share waiting to build finds its session gone and ends
        for session in self.sessions:
            session.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _criterion(outcomes: list[Outcome]) -> Criterion:
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
