"""The lab's databases, roles and seeded data.

Each variant seed is loaded once into template databases (`shop_tpl_<seed>`, `erp_tpl_<seed>`,
`warehouse_tpl_<seed>`); the working databases are clones of them. A clone is a file copy inside
PostgreSQL, which is what lets `lab reset` put the data back in well under a second.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

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
        set_state(conn, "seed", data.seed)
    _publish_templates(server, [name])


def _publish_templates(server: PostgresServer, names: list[str]) -> None:
    """A template becomes visible under its final name only once complete (an interrupted build is redone)."""
    with server.connect() as conn:
        for name in names:
            conn.execute(sql.SQL("alter database {} rename to {}").format(sql.Identifier(name + "_building"),
                                                                           sql.Identifier(name)))
            conn.execute(sql.SQL("alter database {} is_template true").format(sql.Identifier(name)))


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
    with server.connect() as conn:
        _create(conn, "warehouse", template_name("warehouse", seed))
        conn.execute("grant create on database warehouse to lab_transformer")
    with server.connect("warehouse") as conn:
        set_state(conn, "seed", seed)
        set_state(conn, "clock", {"started_at": datetime.now(UTC).isoformat()})
        set_state(conn, "hints", {"used": 0})


def set_state(conn: psycopg.Connection, key: str, value: Any) -> None:
    conn.execute("insert into ops.lab_state(key, value) values (%s, %s) "
                 "on conflict (key) do update set value = excluded.value", (key, json.dumps(value)))


def get_state(conn: psycopg.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("select value from ops.lab_state where key = %s", (key,)).fetchone()
    return row[0] if row else default


def current_seed(lab: Lab) -> int | None:
    try:
        with lab.warehouse.connect("warehouse") as conn:
            return get_state(conn, "seed")
    except psycopg.Error:
        return None


def clock_started_at(lab: Lab) -> datetime | None:
    try:
        with lab.warehouse.connect("warehouse") as conn:
            clock = get_state(conn, "clock")
    except psycopg.Error:
        return None
    return datetime.fromisoformat(clock["started_at"]) if clock else None
