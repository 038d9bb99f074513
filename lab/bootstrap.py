"""Create the lab's databases, roles and seeded data: once on the first `lab up`, again on `lab reset`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from lab.stack import Lab
from seed import generate as seedgen
from seed import load as seedload

PUBLICATION = "lab_shop"
CDC_TABLES = ("orders", "customers")


def _database_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is not None


def _recreate_database(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def oltp_ready(lab: Lab) -> bool:
    with lab.oltp.connect() as conn:
        return _database_exists(conn, "shop") and _database_exists(conn, "erp")


def warehouse_ready(lab: Lab) -> bool:
    with lab.warehouse.connect() as conn:
        if not _database_exists(conn, "warehouse"):
            return False
    with lab.warehouse.connect("warehouse") as conn:
        return conn.execute("select to_regclass('ops.lab_state') is not null").fetchone()[0]


def bootstrap_oltp(lab: Lab, ds: seedgen.Dataset) -> None:
    with lab.oltp.connect() as conn:
        conn.execute("""do $$ begin
            if not exists (select from pg_roles where rolname = 'lab_cdc') then
              create role lab_cdc login replication;
            end if; end $$""")
        # A slot left from an earlier life of the shop database would make Debezium skip changes.
        for (slot,) in conn.execute("select slot_name from pg_replication_slots").fetchall():
            conn.execute("select pg_drop_replication_slot(%s)", (slot,))
        for db in ("shop", "erp"):
            _recreate_database(conn, db)
    with lab.oltp.connect("shop") as conn:
        seedload.apply_schema(conn, "shop")
        seedload.load_shop(conn, ds)
        conn.execute("grant usage on schema public to lab_cdc")
        conn.execute("grant select on all tables in schema public to lab_cdc")
        # Created here, not by Debezium: lab_cdc does not own the tables.
        conn.execute(sql.SQL("create publication {} for table {}").format(
            sql.Identifier(PUBLICATION), sql.SQL(", ").join(sql.Identifier(t) for t in CDC_TABLES)))
    with lab.oltp.connect("erp") as conn:
        seedload.apply_schema(conn, "erp")
        seedload.load_erp(conn, ds)


def bootstrap_warehouse(lab: Lab, ds: seedgen.Dataset, seed: int) -> None:
    with lab.warehouse.connect() as conn:
        _recreate_database(conn, "warehouse")
    with lab.warehouse.connect("warehouse") as conn:
        seedload.apply_schema(conn, "warehouse")
        seedload.load_warehouse_ops(conn, ds)
        set_state(conn, "seed", seed)
        set_state(conn, "clock", {"started_at": datetime.now(UTC).isoformat()})
        set_state(conn, "hints", {"used": 0})


def set_state(conn: psycopg.Connection, key: str, value: Any) -> None:
    conn.execute("insert into ops.lab_state(key, value) values (%s, %s) "
                 "on conflict (key) do update set value = excluded.value", (key, json.dumps(value)))


def get_state(conn: psycopg.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("select value from ops.lab_state where key = %s", (key,)).fetchone()
    return row[0] if row else default


def clock_started_at(lab: Lab) -> datetime | None:
    try:
        with lab.warehouse.connect("warehouse") as conn:
            clock = get_state(conn, "clock")
    except psycopg.Error:
        return None
    return datetime.fromisoformat(clock["started_at"]) if clock else None
