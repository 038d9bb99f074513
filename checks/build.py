"""Build the learner's project into a private schema: models as lab_transformer (`dbt run`), then
tests as lab_tester (`dbt test`), each with the lab's own profile, a fresh target path, no partial
parse and no colours (lab/dbt.py). Never into `analytics`: the scheduler and the learner use that.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql

from lab import dbt
from lab.config import Settings
from lab.stack import Lab

SCHEMA_PREFIX = "check_"
# An explicit selection of everything: a `default: true` selector in the learner's selectors.yml would
# otherwise decide what runs.
SELECT_ALL = ["--select", "fqn:*"]


def new_schema() -> str:
    return f"{SCHEMA_PREFIX}{uuid.uuid4().hex[:8]}"


@dataclass
class Phase:
    """One dbt invocation and what it says."""

    run: dbt.DbtRun
    timeout: float

    @property
    def timed_out(self) -> bool:
        return self.run.returncode == -1

    @property
    def results(self) -> list[dict[str, Any]]:
        return self.run.results

    def status_of(self) -> dict[str, str]:
        return {r["unique_id"]: r["status"] for r in self.run.results}


@dataclass
class Build:
    schema: str
    project_dir: Path
    models: Phase
    tests: Phase | None = None
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def models_ok(self) -> bool:
        return self.models.run.ok and bool(self.models.results)


def run_models(settings: Settings, project_dir: Path, schema: str, target: Path, timeout: float) -> Phase:
    return Phase(dbt.run(settings, ["run", *SELECT_ALL], project_dir=project_dir, schema=schema,
                         target="transform", target_path=target, timeout=timeout), timeout)


def run_tests(settings: Settings, project_dir: Path, schema: str, target: Path, timeout: float) -> Phase:
    return Phase(dbt.run(settings, ["test", *SELECT_ALL], project_dir=project_dir, schema=schema,
                         target="test", target_path=target, timeout=timeout), timeout)


def build(lab: Lab, project_dir: Path, schema: str, work: Path, timeout: float) -> Build:
    models = run_models(lab.settings, project_dir, schema, work / "run", timeout)
    if models.timed_out:
        cancel_queries(lab, schema)
    result = Build(schema, project_dir, models, manifest=models.run.manifest())
    if models.run.ok:
        result.tests = run_tests(lab.settings, project_dir, schema, work / "test", timeout)
        if result.tests.timed_out:
            cancel_queries(lab, schema)
        result.manifest = result.tests.run.manifest() or result.manifest
    return result


def cancel_queries(lab: Lab, schema: str) -> None:
    """dbt was killed at its timeout, but PostgreSQL keeps running its last statement until it ends:
    end the backends still working on this check's schema."""
    with lab.warehouse.connect("warehouse") as conn:
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity "
                     "where usename in ('lab_transformer', 'lab_tester') and pid <> pg_backend_pid() "
                     "and query like %s", (f"%{schema}%",))


def drop_schemas(lab: Lab, schemas: list[str]) -> None:
    """Drop a check's schemas, including any a project made by suffixing one (a custom `+schema`)."""
    with lab.warehouse.connect("warehouse") as conn:
        found = set(schemas)
        for schema in schemas:
            rows = conn.execute("select nspname from pg_namespace where nspname like %s",
                                (schema.replace("_", r"\_") + r"\_%",)).fetchall()
            found.update(r[0] for r in rows)
        for schema in sorted(found):
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    for schema in schemas:
        shutil.rmtree(lab.settings.lab_dir / "dbt" / f"profile-{schema}", ignore_errors=True)


def drop_leftovers(lab: Lab) -> None:
    """Schemas of checks that were killed before they could clean up (only one check runs at a time)."""
    with lab.warehouse.connect("warehouse") as conn:
        rows = conn.execute("select nspname from pg_namespace where nspname like %s",
                            (SCHEMA_PREFIX.replace("_", r"\_") + "%",)).fetchall()
    if rows:
        cancel_all = [r[0] for r in rows]
        for schema in cancel_all:
            cancel_queries(lab, schema)
        drop_schemas(lab, cancel_all)
