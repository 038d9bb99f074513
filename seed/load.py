"""Apply the schemas and bulk-load a generated dataset with COPY (psycopg 3 connections).

Every function runs in one transaction of the connection it is given (committed on success, rolled back
on error), so a connection must not be inside an open transaction when it is passed in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from importlib import resources

import psycopg
from psycopg import sql

from seed.db import transaction
from seed.model import Dataset, Figures
from seed.story import STORY_CLOCK

SCHEMAS = ("shop", "erp", "warehouse")

CUSTOMER_COLUMNS = ("customer_id", "name", "email", "country", "created_at")
ORDER_COLUMNS = (
    "order_id",
    "customer_id",
    "status",
    "amount",
    "currency",
    "created_at",
    "updated_at",
    "refunded_at",
)
_MIGRATION_COLUMNS = ("version", "description", "applied_at")
_LEDGER_COLUMNS = ("order_id", "kind", "amount", "revenue_date", "posted_at")
_DBT_RUN_COLUMNS = (
    "started_at",
    "finished_at",
    "status",
    "models_built",
    "tests_passed",
    "tests_failed",
    "trigger",
)
_CONTROL_COLUMNS = ("revenue_date", "gross_sales", "refunds", "cancellations", "net_revenue", "entries")


def schema_sql(name: str) -> str:
    """The DDL text of seed/schema/<name>.sql."""
    if name not in SCHEMAS:
        raise ValueError(f"unknown schema {name!r}; expected one of {', '.join(SCHEMAS)}")
    return resources.files("seed").joinpath("schema", f"{name}.sql").read_text(encoding="utf-8")


def apply_schema(conn: psycopg.Connection, name: str) -> None:
    """Run seed/schema/<name>.sql ('shop', 'erp' or 'warehouse') on an empty database."""
    ddl = schema_sql(name).encode()
    with transaction(conn):
        conn.execute(ddl)  # no parameters: sent as one simple query of several statements


def load_shop(conn: psycopg.Connection, ds: Dataset) -> None:
    """COPY customers, orders and schema_migrations into `shop`; move the order_id sequence past them."""
    with transaction(conn), conn.cursor() as cur:
        _copy(cur, "customers", CUSTOMER_COLUMNS, ds.customers)
        _copy(cur, "orders", ORDER_COLUMNS, ds.orders)
        _copy(cur, "schema_migrations", _MIGRATION_COLUMNS, ds.migrations)
        cur.execute(
            "select setval(pg_get_serial_sequence('orders', 'order_id'),"
            " coalesce((select max(order_id) from orders), 1))"
        )


def load_erp(conn: psycopg.Connection, ds: Dataset) -> None:
    """COPY the ledger into `erp` (entry ids follow posted_at)."""
    with transaction(conn), conn.cursor() as cur:
        _copy(cur, "ledger", _LEDGER_COLUMNS, ds.ledger)


def load_warehouse_ops(conn: psycopg.Connection, ds: Dataset) -> None:
    """Fill ops.dbt_runs with the 144-run history; record the seed's figures in ops.lab_state.

    The lab_state key is 'seed_figures': {"seed", "story_clock", "figures": {... amounts as strings}}.
    """
    state = {"seed": ds.seed, "story_clock": STORY_CLOCK.isoformat(), "figures": figures_json(ds.figures)}
    with transaction(conn), conn.cursor() as cur:
        _copy(cur, "ops.dbt_runs", _DBT_RUN_COLUMNS, ds.dbt_runs)
        cur.execute(
            "insert into ops.lab_state (key, value) values ('seed_figures', %s::jsonb)"
            " on conflict (key) do update set value = excluded.value",
            (json.dumps(state),),
        )


def load_warehouse_raw(conn: psycopg.Connection, ds: Dataset) -> None:
    """Fill raw.customers and raw.orders straight from the dataset, as the CDC snapshot would.

    For tests and development only: in the running lab the Debezium JDBC sink writes these tables.
    """
    with transaction(conn), conn.cursor() as cur:
        _copy(cur, "raw.customers", CUSTOMER_COLUMNS, ds.customers)
        _copy(cur, "raw.orders", ORDER_COLUMNS, ds.orders)


def export_control_totals(
    erp_conn: psycopg.Connection, warehouse_conn: psycopg.Connection, exported_at: datetime | None = None
) -> int:
    """Finance's export: replace erp.daily_control_totals with the ERP's daily_control_totals view.

    Reads the view in one snapshot, then deletes and re-inserts the warehouse copy in one transaction:
    readers see the old totals or the new ones, never a mix. `exported_at` defaults to the warehouse's
    clock. Returns the number of days exported.
    """
    with transaction(erp_conn):
        rows = erp_conn.execute(
            "select revenue_date, gross_sales, refunds, cancellations, net_revenue, entries"
            " from daily_control_totals order by revenue_date"
        ).fetchall()
    with transaction(warehouse_conn), warehouse_conn.cursor() as cur:
        stamp = exported_at
        if stamp is None:
            row = cur.execute("select clock_timestamp()").fetchone()
            stamp = row[0] if row else None
        cur.execute("delete from erp.daily_control_totals")
        with cur.copy(_copy_statement("erp.daily_control_totals", (*_CONTROL_COLUMNS, "exported_at"))) as copy:
            for values in rows:
                copy.write_row((*values, stamp))
    return len(rows)


def figures_json(figures: Figures) -> dict[str, object]:
    """The figures as JSON-ready values (amounts as strings, to keep every cent)."""
    return {
        "q2_gross": str(figures.q2_gross),
        "q2_cancelled": str(figures.q2_cancelled),
        "q2_refunded_old_flow": str(figures.q2_refunded_old_flow),
        "v2_refunds_total": str(figures.v2_refunds_total),
        "v2_refunds_by_day": {day.isoformat(): str(v) for day, v in figures.v2_refunds_by_day.items()},
        "erp_q2_net": str(figures.erp_q2_net),
        "tile_q2": str(figures.tile_q2),
    }


def _copy_statement(table: str, columns: Sequence[str]) -> sql.Composed:
    schema, _, name = table.rpartition(".")
    target = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
    return sql.SQL("copy {} ({}) from stdin").format(target, column_list)


def _copy(cur: psycopg.Cursor, table: str, columns: Sequence[str], records: Iterable[object]) -> None:
    """COPY dataclass records into `table`, one column per attribute named in `columns`."""
    with cur.copy(_copy_statement(table, columns)) as copy:
        for record in records:
            copy.write_row([getattr(record, column) for column in columns])
