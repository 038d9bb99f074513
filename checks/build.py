"""Build the learner's project into a private schema: models, seeds and snapshots as lab_transformer (`dbt
build` without tests), then the tests as lab_tester (`dbt test`), each with the lab's own profile, a fresh
target path and no colours (lab/dbt.py). Never into `analytics`: the scheduler and the learner use that.

One dbt session per project (lab/dbt.py `Session`): dbt imports and parses once, while the checker waits
for the pipeline, and the build, the tests and the probe's rebuild reuse that parse.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql

from lab import dbt
from lab.api import Lab

SCHEMA_PREFIX = "check_"
# An explicit selection of everything: a `default: true` selector in the learner's selectors.yml would
# otherwise decide what runs.
SELECT_ALL = ["--select", "fqn:*"]
BUILD_ARGS = ["build", *SELECT_ALL, "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
TEST_ARGS = ["test", *SELECT_ALL]
# Resources that become relations (or functions) in the warehouse, and so must land in the check's schema.
PLACED = ("model", "seed", "snapshot", "function")


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
    misplaced: list[str] = field(default_factory=list)  # relations built outside the check's schema

    @property
    def models_ok(self) -> bool:
        return self.models.run.ok and bool(self.models.results) and not self.misplaced


def start(lab: Lab, project_dir: Path, schema: str, work: Path) -> dbt.Session:
    """dbt imports and parses the project now; `build_models` and `run_tests` use it later."""
    return dbt.Session(lab.settings, project_dir=project_dir, schema=schema, target="transform", work=work)


def build_models(lab: Lab, session: dbt.Session, target: Path, timeout: float) -> Phase:
    phase = Phase(session.run(BUILD_ARGS, target="transform", target_path=target, timeout=timeout), timeout)
    if phase.timed_out:
        cancel_queries(lab, session.schema)
    return phase


def run_tests(lab: Lab, session: dbt.Session, target: Path, timeout: float) -> Phase:
    phase = Phase(session.run(TEST_ARGS, target="test", target_path=target, timeout=timeout), timeout)
    if phase.timed_out:
        cancel_queries(lab, session.schema)
    return phase


def misplaced(manifest: dict[str, Any], schema: str) -> list[str]:
    """Relations the project put outside the check's schema (and its `<schema>_<custom>` companions) — a
    custom generate_schema_name or database config would move what is judged somewhere else."""
    out = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in PLACED or node.get("config", {}).get("materialized") == "ephemeral":
            continue
        where = node.get("schema") or ""
        if (where != schema and not where.startswith(schema + "_")) or node.get("database") not in (None, "warehouse"):
            out.append(f"{node.get('original_file_path') or node.get('name')} builds into "
                       f"{node.get('database')}.{where}")
    return sorted(out)


def models(lab: Lab, session: dbt.Session, work: Path, timeout: float) -> Build:
    """The models (with seeds and snapshots) as lab_transformer; the tests come later (`tests`)."""
    phase = build_models(lab, session, work / "build", timeout)
    manifest = phase.run.manifest()
    return Build(session.schema, session.project_dir, phase, manifest=manifest,
                 misplaced=misplaced(manifest, session.schema))


def tests(lab: Lab, session: dbt.Session, build: Build, work: Path, timeout: float) -> None:
    if not build.models_ok:
        return
    build.tests = run_tests(lab, session, work / "test", timeout)
    build.manifest = build.tests.run.manifest() or build.manifest


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


def drop_leftovers(lab: Lab, keep: str | None = None) -> None:
    """Schemas of checks that were killed before they could clean up (only one check runs at a time; `keep`
    is the running check's own)."""
    with lab.warehouse.connect("warehouse") as conn:
        rows = conn.execute("select nspname from pg_namespace where nspname like %s",
                            (SCHEMA_PREFIX.replace("_", r"\_") + "%",)).fetchall()
    rows = [r for r in rows if not keep or not (r[0] == keep or r[0].startswith(keep + "_"))]
    if rows:
        cancel_all = [r[0] for r in rows]
        for schema in cancel_all:
            cancel_queries(lab, schema)
        drop_schemas(lab, cancel_all)
