"""What the learner does that the lab does not run itself, noticed for the incident timeline (`lab debrief`):
edits of dbt_project/, their own dbt runs, and the first time they touch `refunded_at` (time to detect).

Run every few seconds by the scheduler's loop. Detection counts either a query of the on-call role (`oncall`,
the role `bin/lab psql` connects as) that mentions refunded_at — read from pg_stat_statements on both
servers, cleared at every reset — or an edit of dbt_project/ that brings refunded_at into the models.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from lab.stack import Lab

ONCALL = "oncall"
IGNORED_PARTS = {"target", "logs", "dbt_packages", "__pycache__"}


def snapshot(project: Path) -> dict[str, str]:
    """Relative path → digest of every file of the project a learner edits."""
    out = {}
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project)
        if path.is_file() and not IGNORED_PARTS & set(rel.parts) and path.name != ".user.yml":
            out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _mentions(project: Path, files: list[str], word: str) -> bool:
    for rel in files:
        try:
            if word in (project / rel).read_text(errors="replace"):
                return True
        except OSError:
            continue
    return False


@dataclass
class Watcher:
    lab: Lab
    files: dict[str, str] = field(default_factory=dict)
    results_mtime: float = 0.0
    detected: bool = False
    started: bool = False

    @property
    def project(self) -> Path:
        return self.lab.settings.root / "dbt_project"

    def _init(self) -> None:
        self.files = snapshot(self.project)
        self.results_mtime = self._results_mtime()
        self.detected = self.lab.session.first("detect") is not None
        self.started = True

    def _results_mtime(self) -> float:
        try:
            return (self.project / "target" / "run_results.json").stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def tick(self) -> None:
        if not self.started:
            self._init()
            return
        self._edits()
        self._dbt_runs()
        if not self.detected:
            self._queries()

    def _edits(self) -> None:
        now = snapshot(self.project)
        changed = sorted(k for k in set(now) | set(self.files) if now.get(k) != self.files.get(k))
        if not changed:
            return
        pristine = self.lab.settings.lab_dir / "pristine" / "dbt_project"
        self.files = now
        self.lab.session.record("edit", files=changed)
        fresh = [f for f in changed if f in now and not _mentions(pristine, [f], "refunded_at")]
        if not self.detected and _mentions(self.project, fresh, "refunded_at"):
            self._detect(how="edit", where=", ".join(fresh[:3]), query="refunded_at in " + ", ".join(fresh[:3]))

    def _dbt_runs(self) -> None:
        mtime = self._results_mtime()
        if mtime == self.results_mtime:
            return
        self.results_mtime = mtime
        try:
            doc = json.loads((self.project / "target" / "run_results.json").read_text())
        except (OSError, json.JSONDecodeError):
            return
        statuses = [r.get("status") for r in doc.get("results", [])]
        bad = [s for s in statuses if s in ("error", "fail")]
        command = (doc.get("args") or {}).get("which", "dbt")
        self.lab.session.record("dbt", command=command, status="error" if bad else "success",
                                nodes=len(statuses), failed=len(bad))

    def _queries(self) -> None:
        for server in (self.lab.oltp, self.lab.warehouse):
            try:
                with server.connect() as conn:
                    row = conn.execute(
                        "select d.datname, s.query from pg_stat_statements s join pg_roles r on r.oid = s.userid "
                        "left join pg_database d on d.oid = s.dbid where r.rolname = %s and s.query ilike "
                        "'%%refunded_at%%' limit 1", (ONCALL,)).fetchone()
            except psycopg.Error:
                continue  # a server down, or a lab made before pg_stat_statements: nothing to read
            if row:
                self._detect(how="query", where=row[0] or server.name, query=" ".join(row[1].split()))
                return

    def _detect(self, how: str, where: str, query: str) -> None:
        self.detected = True
        self.lab.session.record("detect", how=how, database=where, user=ONCALL if how == "query" else "you",
                                query=query[:200])
