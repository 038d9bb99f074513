"""The lab's databases, roles and seeded data.

Each variant seed is loaded once into template databases (`shop_tpl_<seed>`, `erp_tpl_<seed>`,
`warehouse_tpl_<seed>`); the working databases are clones of them. A clone is a file copy inside
PostgreSQL, which is what lets `lab reset` put the data back in well under a second.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from lab import session
from lab.components.postgres import PostgresServer
from lab.stack import Lab

PUBLICATION = "lab_shop"
SLOT = "lab_shop"
CDC_TABLES = ("orders", "customers")
OLTP_DATABASES = ("shop", "erp")


@functools.cache
def seed_version() -> str:
    """Hash of the seed package (generator + schemas): templates built by other code are never reused."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent / "seed"
    for path in sorted([*root.glob("*.py"), *root.glob("schema/*.sql")]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:8]


def template_name(db: str, seed: int) -> str:
    return f"{db}_tpl_{seed}_{seed_version()}"


def _drop_stale_templates(conn: psycopg.Connection, db: str) -> None:
    rows = conn.execute("select datname from pg_database where datname like %s and datname not like %s",
                        (f"{db}\\_tpl\\_%", f"%\\_{seed_version()}%")).fetchall()
    for (name,) in rows:
        conn.execute(sql.SQL("alter database {} is_template false").format(sql.Identifier(name)))
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def _exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is not None


def _create(conn: psycopg.Connection, name: str, template: str | None = None) -> None:
    conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    if template:
        # FILE_COPY, not PostgreSQL 15's default WAL_LOG: a WAL_LOG copy carries the template's sequence
        # pages with values the clone never logged, so after a crash (kill -9) the clone's sequences go
        # back and the next insert hits a duplicate key (seen on erp.ledger after killing the OLTP server).
        conn.execute(sql.SQL("create database {} template {} strategy file_copy").format(
            sql.Identifier(name), sql.Identifier(template)))
    else:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def oltp_ready(lab: Lab) -> bool:
    with lab.oltp.connect() as conn:
        return all(_exists(conn, db) for db in OLTP_DATABASES)


def warehouse_ready(lab: Lab) -> bool:
    with lab.warehouse.connect() as conn:
        if not _exists(conn, "warehouse"):
            return False
    with lab.warehouse.connect("warehouse") as conn:
        return bool(conn.execute("select to_regclass('ops.lab_state') is not null").fetchone()[0])


class Dataset:
    """The generated data of one seed, made only if a template has to be built."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._ds: Any = None
        self._lock = threading.Lock()  # the two PostgreSQL servers are seeded from parallel threads

    def get(self) -> Any:
        with self._lock:
            if self._ds is None:
                from seed import generate

                self._ds = generate.generate(self.seed)
            return self._ds


def ensure_oltp_templates(server: PostgresServer, data: Dataset) -> None:
    from seed import load

    with server.connect() as conn:
        conn.execute("""do $$ begin
            if not exists (select from pg_roles where rolname = 'lab_cdc') then
              create role lab_cdc login replication;
            end if; end $$""")
        for db in OLTP_DATABASES:
            _drop_stale_templates(conn, db)
        missing = [db for db in OLTP_DATABASES if not _exists(conn, template_name(db, data.seed))]
        for db in missing:
            _create(conn, template_name(db, data.seed) + "_building")
    if "shop" in missing:
        with server.connect(template_name("shop", data.seed) + "_building") as conn:
            load.apply_schema(conn, "shop")
            load.load_shop(conn, data.get())
            conn.execute("grant usage on schema public to lab_cdc")
            conn.execute("grant select on all tables in schema public to lab_cdc")
            # Created here rather than by Debezium: lab_cdc does not own the tables.
            conn.execute(sql.SQL("create publication {} for table {}").format(
                sql.Identifier(PUBLICATION), sql.SQL(", ").join(sql.Identifier(t) for t in CDC_TABLES)))
            conn.execute("vacuum analyze")
    if "erp" in missing:
        with server.connect(template_name("erp", data.seed) + "_building") as conn:
            load.apply_schema(conn, "erp")
            load.load_erp(conn, data.get())
            conn.execute("vacuum analyze")
    _publish_templates(server, [template_name(db, data.seed) for db in missing])


def ensure_warehouse_template(server: PostgresServer, data: Dataset) -> None:
    from seed import load

    name = template_name("warehouse", data.seed)
    with server.connect() as conn:
        _drop_stale_templates(conn, "warehouse")
        if _exists(conn, name):
            return
        _create(conn, name + "_building")
    with server.connect(name + "_building") as conn:
        load.apply_schema(conn, "warehouse")
        load.load_warehouse_ops(conn, data.get())
        session.set_state(conn, session.SEED, data.seed)
    _publish_templates(server, [name])


def _publish_templates(server: PostgresServer, names: list[str]) -> None:
    """A template becomes visible under its final name only once complete (an interrupted build is redone)."""
    with server.connect() as conn:
        for name in names:
            conn.execute(sql.SQL("alter database {} rename to {}").format(sql.Identifier(name + "_building"),
                                                                           sql.Identifier(name)))
            conn.execute(sql.SQL("alter database {} is_template true").format(sql.Identifier(name)))
            # Nobody works in a template: what a role left there would come back with every reset.
            conn.execute(sql.SQL("alter database {} allow_connections false").format(sql.Identifier(name)))


RAW_CAPTURED = "raw_captured"  # a warehouse template's comment when its raw.* came through CDC


def _template_comment(server: PostgresServer, seed: int) -> str:
    with server.connect() as conn:
        row = conn.execute("select shobj_description(oid, 'pg_database') from pg_database where datname = %s",
                           (template_name("warehouse", seed),)).fetchone()
    return (row[0] if row else None) or ""


def raw_captured(server: PostgresServer, seed: int) -> bool:
    """Does the seed's warehouse template hold raw.* as CDC first delivered it (see capture_raw)?"""
    return _template_comment(server, seed).startswith(RAW_CAPTURED)


def models_built(server: PostgresServer, seed: int, project_digest: str) -> bool:
    """Does the seed's warehouse template hold analytics.* as this project builds it (see build_models)?"""
    return _template_comment(server, seed) == f"{RAW_CAPTURED} models={project_digest}"


def build_models(lab: Lab, seed: int, project: Path, project_digest: str) -> bool:
    """dbt builds the shipped models into the seed's warehouse template, from the raw.* it captured: a
    reset to the shipped code then needs no dbt run (the clone holds the dashboard as dbt built it)."""
    from lab import dbt

    server = lab.warehouse
    name = template_name("warehouse", seed)
    with server.connect() as conn:
        conn.execute(sql.SQL("alter database {} allow_connections true").format(sql.Identifier(name)))
    try:
        run = dbt.run(lab.settings, ["run"], project_dir=project, schema="analytics", dbname=name,
                      target_path=lab.settings.lab_dir / "dbt" / "template")
    finally:
        with server.connect() as conn:
            conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (name,))
            conn.execute(sql.SQL("alter database {} allow_connections false").format(sql.Identifier(name)))
    if run.ok:
        with server.connect() as conn:
            conn.execute(sql.SQL("comment on database {} is {}").format(
                sql.Identifier(name), sql.Literal(f"{RAW_CAPTURED} models={project_digest}")))
    return run.ok


def capture_raw(server: PostgresServer, seed: int) -> None:
    """Copy raw.* of the working warehouse — just filled by Debezium's snapshot of a fresh clone, before
    anything else wrote — into the seed's warehouse template. A later `lab reset` then restores the
    warehouse as CDC delivered it and lets Debezium resume streaming, instead of re-sending 17k rows."""
    name = template_name("warehouse", seed)
    tables = [("raw", t) for t in CDC_TABLES]
    with server.connect() as conn:
        conn.execute(sql.SQL("alter database {} allow_connections true").format(sql.Identifier(name)))
    try:
        with server.connect("warehouse") as src, server.connect(name) as dst, dst.transaction():
            for schema, table in tables:
                ident = sql.Identifier(schema, table)
                dst.execute(sql.SQL("truncate {}").format(ident))
                # _synced_at as it landed: the template's trigger would stamp the copy's time instead.
                dst.execute(sql.SQL("alter table {} disable trigger user").format(ident))
                with src.cursor().copy(sql.SQL("copy {} to stdout (format binary)").format(ident)) as out, \
                        dst.cursor().copy(sql.SQL("copy {} from stdin (format binary)").format(ident)) as into:
                    for chunk in out:
                        into.write(chunk)
                dst.execute(sql.SQL("alter table {} enable trigger user").format(ident))
    finally:
        with server.connect() as conn:
            conn.execute(sql.SQL("alter database {} allow_connections false").format(sql.Identifier(name)))
    with server.connect() as conn:
        conn.execute(sql.SQL("comment on database {} is {}").format(sql.Identifier(name), sql.Literal(RAW_CAPTURED)))


def has_models(server: PostgresServer) -> bool:
    """Did the working warehouse come with the dashboard's models (a clone of a template that holds them)?"""
    with server.connect("warehouse") as conn:
        return conn.execute("select to_regclass('analytics.revenue_quarterly') is not null").fetchone()[0]


def refresh_landing_times(server: PostgresServer) -> None:
    """After a restore, the rows landed when they were first captured: move every `_synced_at` by the
    same amount so the newest row landed now (the source freshness a learner sees is the live one)."""
    with server.connect("warehouse") as conn:
        for table in CDC_TABLES:
            ident = sql.Identifier("raw", table)
            conn.execute(sql.SQL("alter table {} disable trigger user").format(ident))
            conn.execute(sql.SQL("update {t} set _synced_at = _synced_at + (clock_timestamp() - "
                                 "(select max(_synced_at) from {t}))").format(t=ident))
            conn.execute(sql.SQL("alter table {} enable trigger user").format(ident))


def create_slot(server: PostgresServer) -> int:
    """The CDC replication slot of the (restored) shop database, made now: Debezium resumes streaming at its
    position (its LSN, as the integer Debezium keeps in its offsets)."""
    with server.connect("shop") as conn:
        lsn = conn.execute("select lsn - '0/0'::pg_lsn from pg_create_logical_replication_slot(%s, 'pgoutput')",
                           (SLOT,)).fetchone()[0]
    return int(lsn)


def drop_slot(server: PostgresServer) -> None:
    """Drop the CDC replication slot (ending the walsender that holds it, if any)."""
    with server.connect() as conn:
        for _ in range(50):
            row = conn.execute("select active_pid from pg_replication_slots where slot_name = %s",
                               (SLOT,)).fetchone()
            if row is None:
                return
            if row[0] is not None:
                conn.execute("select pg_terminate_backend(%s)", (row[0],))
                time.sleep(0.1)
                continue
            conn.execute("select pg_drop_replication_slot(%s)", (SLOT,))
            return


def clone_oltp(server: PostgresServer, seed: int) -> None:
    drop_slot(server)  # a slot of the old shop database would make Debezium skip the new one's changes
    with server.connect() as conn:
        for db in OLTP_DATABASES:
            _create(conn, db, template_name(db, seed))


def clone_warehouse(server: PostgresServer, seed: int) -> None:
    """The warehouse as seeded; the session (seed, clock, hints) is begun by the caller (lab/session.py)."""
    with server.connect() as conn:
        _create(conn, "warehouse", template_name("warehouse", seed))
        conn.execute("grant create on database warehouse to lab_transformer")
        # Roles outlive databases, and any role may `ALTER ROLE … SET` its own defaults: back to none.
        for role in ("lab_transformer", "lab_tester"):
            conn.execute(sql.SQL("alter role {} reset all").format(sql.Identifier(role)))


def stamp(lab: Lab) -> None:
    """Mark the lab's databases as this lab's (see PostgresServer.owner), and make sure each server has the
    on-call role `bin/lab psql` connects as, and pg_stat_statements to see what it queried (lab/watcher.py)."""
    lab_id = lab.settings.lab_id
    for server, dbs in ((lab.oltp, OLTP_DATABASES), (lab.warehouse, ("warehouse",))):
        with server.connect() as conn:
            existing = {r[0] for r in conn.execute("select datname from pg_database").fetchall()}
            conn.execute("""do $$ begin
                if not exists (select from pg_roles where rolname = 'oncall') then
                  create role oncall login superuser;
                end if; end $$""")
            conn.execute("comment on role oncall is 'you, the engineer on call: `bin/lab psql` connects as this role'")
            # Not preloaded (a server started before the setting): the timeline then has no query detection.
            with contextlib.suppress(psycopg.Error):
                conn.execute("create extension if not exists pg_stat_statements")
        for db in dbs:
            if db in existing:
                server.stamp(db, lab_id)


def forget_queries(lab: Lab) -> None:
    """A new incident: what was queried before it does not count towards its time to detect."""
    for server in (lab.oltp, lab.warehouse):
        with contextlib.suppress(psycopg.Error), server.connect() as conn:
            conn.execute("select pg_stat_statements_reset()")
