"""Is the warehouse an exact copy of the OLTP tables? Row-for-row fingerprints on both servers."""

from __future__ import annotations

import time

import psycopg
from psycopg import sql

from lab.errors import ExitCode, LabError
from lab.stack import Lab

TABLES = ("orders", "customers")
KEYS = {"orders": "order_id", "customers": "customer_id"}


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute("select column_name from information_schema.columns where table_schema = 'public' "
                        "and table_name = %s order by ordinal_position", (table,)).fetchall()
    return [r[0] for r in rows]


def fingerprint(conn: psycopg.Connection, schema: str, table: str, columns: list[str]) -> tuple[int, str]:
    """(row count, md5 over every row's text in key order); sessions in UTC so timestamps print alike."""
    conn.execute("set timezone = 'UTC'")
    query = sql.SQL("select count(*), coalesce(md5(string_agg(row({cols})::text, E'\\n' order by {key})), '') "
                    "from {tbl}").format(cols=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                                         key=sql.Identifier(KEYS[table]), tbl=sql.Identifier(schema, table))
    count, digest = conn.execute(query).fetchone()
    return int(count), str(digest)


def compare(lab: Lab) -> dict[str, tuple[tuple[int, str], tuple[int, str]]]:
    """Per table: (oltp fingerprint, warehouse fingerprint)."""
    out = {}
    with lab.oltp.connect("shop") as src, lab.warehouse.connect("warehouse") as dst:
        for table in TABLES:
            cols = _columns(src, table)
            out[table] = (fingerprint(src, "public", table, cols), fingerprint(dst, "raw", table, cols))
    return out


def in_sync(lab: Lab) -> bool:
    return all(a == b for a, b in compare(lab).values())


def wait_in_sync(lab: Lab, timeout: float = 120) -> float:
    """Until the warehouse equals the OLTP tables row for row; returns the seconds it took."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout:
        try:
            last = compare(lab)
            if all(a == b for a, b in last.values()):
                return time.monotonic() - start
        except psycopg.errors.UndefinedTable:
            pass  # the sink has not created/filled the table yet
        time.sleep(0.25)
    counts = ", ".join(f"{t}: oltp {a[0]} rows, warehouse {b[0]}" for t, (a, b) in (last or {}).items())
    raise LabError(f"the warehouse did not catch up with the OLTP database within {timeout:.0f} s ({counts})",
                   "`lab status` shows which component is behind; `lab logs connect` says why",
                   ExitCode.LAB_UNHEALTHY)


def row_counts(lab: Lab) -> dict[str, tuple[int | None, int | None]]:
    out: dict[str, tuple[int | None, int | None]] = {}
    for table in TABLES:
        src = dst = None
        try:
            with lab.oltp.connect("shop") as conn:
                src = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(table))).fetchone()[0]
        except psycopg.Error:
            pass
        try:
            with lab.warehouse.connect("warehouse") as conn:
                dst = conn.execute(sql.SQL("select count(*) from {}").format(
                    sql.Identifier("raw", table))).fetchone()[0]
        except psycopg.Error:
            pass
        out[table] = (src, dst)
    return out
