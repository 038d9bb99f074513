"""The incident as the learner sees it: the tile, the ERP, the revenue by day and every symptom — read live.

What the learner built (the marts) is read only through `learner_reader`, never as the superuser.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from lab import ui
from lab.dbt import TRANSFORM_ROLE
from lab.stack import Lab
from seed import story

QUARTER = story.Q2_LABEL
READ_TIMEOUT_S = 30.0
ERP_SQL = "select net_revenue from quarterly_net_revenue where quarter = %s"
FRESHNESS_ERROR_AFTER_S = 6 * 3600  # the source's error_after in dbt_project/models/staging/__sources.yml


def money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def short_money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"${value / Decimal(1_000_000):.2f}M"


def learner_reader(lab: Lab) -> psycopg.Connection:
    """A connection for reading what the learner's models built. Never the superuser: a model may be a view
    calling a function of the learner's, and a function runs with the rights of whoever reads it. As the
    role that built the models it can do nothing their builds could not (no erp, no server programs)."""
    return lab.warehouse.connect("warehouse", user=TRANSFORM_ROLE, statement_timeout_s=READ_TIMEOUT_S)


def tile(lab: Lab, schema: str = "analytics") -> Decimal | None:
    """What the dashboard tile shows: the Q2 row of the quarterly revenue mart."""
    with learner_reader(lab) as conn:
        try:
            row = conn.execute(sql.SQL("select net_revenue from {} where quarter = %s").format(
                sql.Identifier(schema, "revenue_quarterly")), (QUARTER,)).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return row[0] if row else Decimal("0.00")


def erp(lab: Lab) -> Decimal:
    """The system of record: the ERP ledger's Q2 net revenue."""
    with lab.oltp.connect("erp") as conn:
        row = conn.execute(ERP_SQL, (QUARTER,)).fetchone()
    return row[0] if row else Decimal("0.00")


def revenue_by_day(lab: Lab) -> list[dict[str, Any]]:
    """Q2 revenue to date as it stood at the end of each day, as the ERP booked it and as the dashboard
    counts it. The ERP line adds every ledger entry for a Q2 order on the day it was posted. The dashboard
    line is the ERP line plus what the dashboard's models still count of the orders refunded since — the
    refunds it misses, on the day each refund happened. The two agree until the refund flow changed."""
    with lab.oltp.connect("erp") as conn:
        conn.execute("set timezone = 'UTC'")
        posted = dict(conn.execute(
            "select posted_at::date, sum(amount) from ledger where revenue_date >= %s and revenue_date < %s "
            "group by 1", (story.Q2_START.date(), story.Q3_START.date())).fetchall())
    missed = _missed_refunds(lab)
    today = max([story.STORY_CLOCK.date(), *posted, *missed])
    out, erp_total, missed_total = [], Decimal("0.00"), Decimal("0.00")
    day = story.Q2_START.date()
    while day <= today:
        erp_total += posted.get(day, Decimal(0))
        missed_total += missed.get(day, Decimal(0))
        out.append({"date": day.isoformat(), "erp": str(erp_total), "dashboard": str(erp_total + missed_total)})
        day += timedelta(days=1)
    return out


def _missed_refunds(lab: Lab) -> dict[date, Decimal]:
    """By refund day: the amounts of refunded Q2 orders that the dashboard's fct_orders still counts."""
    query = ("select (r.refunded_at at time zone 'UTC')::date, sum(f.net_amount) from analytics.fct_orders f "
             "join raw.orders r on r.order_id = f.order_id where r.refunded_at is not null and f.net_amount > 0 "
             "and f.order_date >= %s and f.order_date < %s group by 1")
    try:
        with learner_reader(lab) as conn:
            return dict(conn.execute(query, (story.Q2_START.date(), story.Q3_START.date())).fetchall())
    except psycopg.Error:
        return {}  # the learner's fct_orders has another shape, or is being rebuilt: no drift line now


def cdc_lag(lab: Lab) -> dict[str, Any]:
    """The connector's lag as an on-call engineer reads it, in milliseconds, from the source's own commit
    timestamps (track_commit_timestamp) to the time each row landed in the warehouse (`_synced_at`): while
    committed changes are still on their way, now − the oldest such commit; otherwise the latency of the
    latest change (0 ms when nothing changed since the lab started)."""
    session = lab.session.try_read()
    since = session.clock_started_at if session and session.clock_started_at else datetime.now(UTC)
    with lab.oltp.connect("shop") as shop:
        rows = shop.execute("select order_id, updated_at, pg_xact_commit_timestamp(xmin) from orders "
                            "where pg_xact_commit_timestamp(xmin) > %s order by 3 desc limit 200", (since,)).fetchall()
    if not rows:
        return {"lag_ms": 0, "source": "source commit timestamps", "pending": 0, "latest_latency_ms": None}
    with lab.warehouse.connect("warehouse") as wh:
        landed = dict(((oid, upd), synced) for oid, upd, synced in wh.execute(
            "select order_id, updated_at, _synced_at from raw.orders where order_id = any(%s)",
            ([r[0] for r in rows],)).fetchall())
    pending = [r for r in rows if (r[0], r[1]) not in landed]
    now = datetime.now(UTC)
    latest = rows[0]
    latency = (landed[(latest[0], latest[1])] - latest[2]).total_seconds() if (latest[0], latest[1]) in landed else None
    lag = (now - min(r[2] for r in pending)).total_seconds() if pending else max(latency or 0.0, 0.0)
    return {"lag_ms": round(lag * 1000), "source": "source commit timestamps", "pending": len(pending),
            "latest_latency_ms": None if latency is None else round(max(latency, 0.0) * 1000)}


def symptoms(lab: Lab) -> dict[str, Any]:
    s: dict[str, Any] = {}
    s["tile"], s["erp"] = tile(lab), erp(lab)
    s["delta"] = None if s["tile"] is None else s["tile"] - s["erp"]
    session = lab.session.read()
    with learner_reader(lab) as reader:
        s["fct_orders_rows"] = _scalar(reader, "select count(*) from analytics.fct_orders")
    with lab.warehouse.connect("warehouse") as wh:
        s["raw_orders_rows"] = _scalar(wh, "select count(*) from raw.orders")
        age = _scalar(wh, "select extract(epoch from clock_timestamp() - max(_synced_at)) from raw.orders")
        s["freshness_age_s"] = float(age) if age is not None else None
        s["freshness_pass"] = age is not None and float(age) < FRESHNESS_ERROR_AFTER_S
        runs = wh.execute("select status, started_at, finished_at, models_built, tests_passed, tests_failed, trigger "
                          "from ops.dbt_runs order by started_at desc, run_id desc").fetchall()
        streak = 0
        for run in runs:
            if run[0] != "success":
                break
            streak += 1
        s["dbt_success_streak"] = streak
        s["dbt_runs"] = len(runs)
        s["dbt_latest"] = None if not runs else {
            "status": runs[0][0], "started_at": runs[0][1].isoformat(), "models": runs[0][3],
            "tests_passed": runs[0][4], "tests_failed": runs[0][5], "trigger": runs[0][6]}
        s["alerts"] = _scalar(wh, "select count(*) from ops.alerts")
    s["hints_used"], s["seed"], s["solved"] = session.hints_used, session.seed, session.solved
    with lab.oltp.connect("shop") as shop:
        rows = shop.execute("select version, description, applied_at from schema_migrations "
                            "order by applied_at desc limit 3").fetchall()
        s["migrations"] = [{"version": v, "description": d, "applied_at": a.isoformat()} for v, d, a in rows]
    lag = cdc_lag(lab)
    s["cdc_lag_ms"], s["cdc_pending"] = lag["lag_ms"], lag["pending"]
    s["latest_change_latency_s"] = None if lag["latest_latency_ms"] is None else lag["latest_latency_ms"] / 1000
    if session.clock_started_at:
        from lab import clock

        s["story_now"] = session.story_now().isoformat()
        s["clock"] = clock.fmt_remaining(session.clock_started_at)
    return s


def _scalar(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    try:
        row = conn.execute(query, params or None).fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.InsufficientPrivilege):
        return None
    return row[0] if row else None


def render(s: dict[str, Any]) -> None:
    gap = s.get("delta")
    colour = "red" if gap else "green"
    ui.info("")
    ui.info(f"[bold]Q2 revenue tile[/] {short_money(s['tile'])} ({money(s['tile'])})   ·   "
            f"[bold]ERP (system of record)[/] {short_money(s['erp'])} ({money(s['erp'])})   ·   "
            f"[{colour}]Δ {'+' if gap and gap > 0 else ''}{money(gap)}[/]")
    fresh = s.get("freshness_age_s")
    ui.info(f"fct_orders rows: {s.get('fct_orders_rows')} (raw.orders: {s.get('raw_orders_rows')}) · source "
            f"freshness: {'pass' if s.get('freshness_pass') else 'FAIL'}"
            + (f" (newest row landed {fresh:.0f} s ago)" if fresh is not None else ""))
    ui.info(f"Debezium lag: {s.get('cdc_lag_ms')} ms ({s.get('cdc_pending', 0)} change(s) on their way; from the "
            "source's commit timestamps)")
    ui.info(f"dbt run history: {s.get('dbt_success_streak')} consecutive successful runs · alerts fired: "
            f"{s.get('alerts')}")
    if s.get("migrations"):
        m = s["migrations"][0]
        ui.info(f"latest schema change: {m['version']} — {m['description']} ({m['applied_at'][:10]})")
    if s.get("clock"):
        ui.info(f"clock: story time {s['story_now'][:16].replace('T', ' ')} UTC — {s['clock']} · hints used: "
                f"{s.get('hints_used', 0)}")
