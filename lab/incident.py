"""The incident as the learner sees it: the tile, the ERP, and every symptom — all read live."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg

from lab import bootstrap, clock, ui
from lab.stack import Lab

QUARTER = "2026-Q2"
TILE_SQL = f"select net_revenue from analytics.revenue_quarterly where quarter = '{QUARTER}'"
ERP_SQL = f"select net_revenue from quarterly_net_revenue where quarter = '{QUARTER}'"
FRESHNESS_ERROR_AFTER_S = 6 * 3600  # the source's error_after in dbt_project/models/staging/__sources.yml


def money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def short_money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"${value / Decimal(1_000_000):.2f}M"


def tile(lab: Lab, schema: str = "analytics") -> Decimal | None:
    """What the dashboard tile shows: the Q2 row of the quarterly revenue mart."""
    with lab.warehouse.connect("warehouse") as conn:
        try:
            row = conn.execute(TILE_SQL.replace("analytics.", f"{schema}.")).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return row[0] if row else Decimal("0.00")


def erp(lab: Lab) -> Decimal:
    """The system of record: the ERP ledger's Q2 net revenue."""
    with lab.oltp.connect("erp") as conn:
        row = conn.execute(ERP_SQL).fetchone()
    return row[0] if row else Decimal("0.00")


def symptoms(lab: Lab) -> dict[str, Any]:
    s: dict[str, Any] = {}
    s["tile"], s["erp"] = tile(lab), erp(lab)
    s["delta"] = None if s["tile"] is None else s["tile"] - s["erp"]
    with lab.warehouse.connect("warehouse") as wh:
        s["fct_orders_rows"] = _scalar(wh, "select count(*) from analytics.fct_orders")
        s["raw_orders_rows"] = _scalar(wh, "select count(*) from raw.orders")
        age = _scalar(wh, "select extract(epoch from clock_timestamp() - max(_synced_at)) from raw.orders")
        s["freshness_age_s"] = float(age) if age is not None else None
        s["freshness_pass"] = age is not None and float(age) < FRESHNESS_ERROR_AFTER_S
        runs = wh.execute("select status from ops.dbt_runs order by started_at desc, run_id desc").fetchall()
        streak = 0
        for (status,) in runs:
            if status != "success":
                break
            streak += 1
        s["dbt_success_streak"] = streak
        s["dbt_runs"] = len(runs)
        s["alerts"] = _scalar(wh, "select count(*) from ops.alerts")
        s["hints_used"] = (bootstrap.get_state(wh, "hints") or {}).get("used", 0)
        s["seed"] = bootstrap.get_state(wh, "seed")
        s["solved"] = bootstrap.get_state(wh, "solved")
    with lab.oltp.connect("shop") as shop:
        rows = shop.execute("select version, description, applied_at from schema_migrations "
                            "order by applied_at desc limit 3").fetchall()
        s["migrations"] = [{"version": v, "description": d, "applied_at": a.isoformat()} for v, d, a in rows]
        latest = _scalar(shop, "select max(order_id) from orders")
        committed = _scalar(shop, "select pg_xact_commit_timestamp(xmin) from orders where order_id = %s", latest)
    s["latest_change_latency_s"] = None
    started = bootstrap.clock_started_at(lab)
    # Only a change made since the lab started says anything about CDC latency (seeded rows were snapshotted).
    if latest is not None and committed is not None and started is not None and committed > started:
        with lab.warehouse.connect("warehouse") as wh:
            landed = _scalar(wh, "select _synced_at from raw.orders where order_id = %s", latest)
        if landed is not None:
            s["latest_change_latency_s"] = max((landed - committed).total_seconds(), 0.0)
    if started:
        s["story_now"] = clock.story_now(started).isoformat()
        s["clock"] = clock.fmt_remaining(started)
    return s


def _scalar(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    try:
        row = conn.execute(query, params or None).fetchone()
    except psycopg.errors.UndefinedTable:
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
    lat = s.get("latest_change_latency_s")
    if lat is not None:
        ui.info(f"CDC: latest order landed {lat:.2f} s after its commit")
    ui.info(f"dbt run history: {s.get('dbt_success_streak')} consecutive successful runs · alerts fired: "
            f"{s.get('alerts')}")
    if s.get("migrations"):
        m = s["migrations"][0]
        ui.info(f"latest schema change: {m['version']} — {m['description']} ({m['applied_at'][:10]})")
    if s.get("clock"):
        ui.info(f"clock: story time {s['story_now'][:16].replace('T', ' ')} UTC — {s['clock']} · hints used: "
                f"{s.get('hints_used', 0)}")


def briefing(lab: Lab) -> None:
    s = symptoms(lab)
    ui.info("")
    ui.info("[bold]═══ INCIDENT — The $516k Gap ═══[/]")
    ui.info("Friday, 08:47 UTC. Finance just pinged: the Q2 revenue tile on the CFO dashboard reads "
            f"[bold]{short_money(s['tile'])}[/], but the ERP — the system of record — says "
            f"[bold]{short_money(s['erp'])}[/]. The CEO walks into the board meeting at 09:00.")
    ui.info("Nothing looks broken: the connector is green, dbt is passing, the dashboard is fresh, no alert fired.")
    render(s)
    p = lab.settings.ports
    ui.info("")
    ui.info("[bold]Where to look[/]")
    ui.info(f"  psql -h 127.0.0.1 -p {p['oltp']} -U lab shop        # OLTP (also: erp)")
    ui.info(f"  psql -h 127.0.0.1 -p {p['warehouse']} -U lab warehouse  # raw.*, analytics.*, erp.*, ops.*")
    ui.info(f"  curl -s 127.0.0.1:{p['connect']}/connectors/shop-source/status   # Kafka Connect REST API")
    ui.info("  dbt_project/                                    # the models (yours to fix)")
    ui.info("  lab status · lab tile · lab hint · lab check")


def started_at_now() -> dict[str, str]:
    return {"started_at": datetime.now(UTC).isoformat()}
