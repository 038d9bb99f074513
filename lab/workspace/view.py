"""What the page shows, built from the incident API's answers: the CFO figures, the chart rows, the six
symptoms with their evidence, the component map. Pure functions of their inputs (the unit tests call them
without a lab); money stays Decimal until it becomes a string here."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lab.workspace import money

FRESHNESS_ERROR_AFTER_H = 6  # dbt_project/models/staging/__sources.yml: error_after 6 hours
TOPICS = ("shop.public.orders", "shop.public.customers")


# --- history: what the server remembers between readings (throughput, row growth) -------------------------
class Series:
    """Readings of a counter that only grows (a topic's end offset, a row count) — until a reset starts it
    again, which clears the history."""

    def __init__(self, keep: int = 90) -> None:
        self.points: deque[tuple[float, int]] = deque(maxlen=keep)

    def add(self, t: float, value: int | None) -> None:
        if value is None:
            return
        if self.points and value < self.points[-1][1]:
            self.points.clear()
        self.points.append((t, value))

    def rates(self, last: int = 40) -> list[float]:
        """Per second, between consecutive readings (the sparkline)."""
        pts = list(self.points)[-(last + 1):]
        pairs = zip(pts, pts[1:], strict=False)
        return [round((b[1] - a[1]) / (b[0] - a[0]), 3) if b[0] > a[0] else 0.0 for a, b in pairs]

    def rate(self, window_s: float = 30.0) -> float | None:
        """Per second over the last window_s seconds."""
        if len(self.points) < 2:
            return None
        t_end, v_end = self.points[-1]
        first = next(((t, v) for t, v in self.points if t >= t_end - window_s), self.points[0])
        if first[0] >= t_end:
            first = self.points[-2]
        return (v_end - first[1]) / (t_end - first[0]) if t_end > first[0] else None

    def growth(self) -> tuple[int, float] | None:
        """(how much it grew, over how many seconds) since the oldest reading kept."""
        if len(self.points) < 2:
            return None
        return self.points[-1][1] - self.points[0][1], self.points[-1][0] - self.points[0][0]


@dataclass
class History:
    offsets: dict[str, Series]
    sink_lag: deque[int]  # a gauge, not a counter
    raw_rows: Series
    fct_rows: Series

    @classmethod
    def new(cls) -> History:
        return cls({t: Series() for t in TOPICS}, deque(maxlen=40), Series(keep=400), Series(keep=400))

    def total_rates(self, last: int = 40) -> list[float]:
        series = [s.rates(last) for s in self.offsets.values()]
        width = min((len(s) for s in series), default=0)
        return [round(sum(s[-width + i] for s in series), 3) for i in range(width)] if width else []

    def total_rate(self) -> float | None:
        rates = [s.rate() for s in self.offsets.values()]
        known = [r for r in rates if r is not None]
        return sum(known) if known else None


# --- the CFO dashboard -----------------------------------------------------------------------------------
def figures(incident: dict[str, Any], quarter: str) -> dict[str, Any]:
    tile, erp = money.to_decimal(incident.get("tile")), money.to_decimal(incident.get("erp"))
    gap = None if tile is None or erp is None else tile - erp
    direction = "" if not gap else ("overstated" if gap > 0 else "understated")
    return {"quarter": quarter, "tile": money.figure(tile), "erp": money.figure(erp),
            "gap": {**money.figure(gap, signed=True), "direction": direction}}


def chart(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Revenue by day (Q2 to date, as it stood each evening): the ERP, the dashboard, the gap between them
    and how much the gap grew that day (the drift)."""
    out, previous_gap = [], Decimal("0.00")
    for row in rows:
        erp, dash = Decimal(row["erp"]), Decimal(row["dashboard"])
        gap = dash - erp
        drift = gap - previous_gap
        previous_gap = gap
        out.append({"date": row["date"], "erp": str(erp), "dashboard": str(dash), "gap": str(gap),
                    "drift": str(drift), "erp_text": money.exact(erp), "dashboard_text": money.exact(dash),
                    "gap_text": money.exact(gap, signed=True), "drift_text": money.short(drift, signed=True)})
    return out


def drift_days(rows: list[dict[str, Any]]) -> list[str]:
    return [r["date"] for r in rows if Decimal(r["drift"]) != 0]


def drift_summary(rows: list[dict[str, Any]]) -> str:
    """'6 days of drift: +$516k, about +$86k a day' over the whole days before the story's today, and what
    today added so far (empty when the two lines agree)."""
    if not rows:
        return ""
    whole = [Decimal(r["drift"]) for r in rows[:-1] if Decimal(r["drift"]) != 0]
    today = Decimal(rows[-1]["drift"])
    parts = []
    if whole:
        total = sum(whole, Decimal("0.00"))
        days = f"{len(whole)} day{'s' if len(whole) != 1 else ''}"
        parts.append(f"{days} of drift: {money.short(total, signed=True)}, about "
                     f"{money.short(total / len(whole), signed=True)} a day")
    if today:
        parts.append(f"today so far {money.short(today, signed=True)}")
    return " · ".join(parts)


# --- the six symptoms ------------------------------------------------------------------------------------
def connector_state(text: str | None) -> tuple[str, str]:
    """'RUNNING (task 0 RUNNING)' -> ('RUNNING', 'task 0 RUNNING')."""
    if not text:
        return "unknown", ""
    head, _, rest = text.partition(" (")
    return head, rest.rstrip(")")


def connector_ok(text: str | None) -> bool:
    return text is not None and text.startswith("RUNNING") and "FAILED" not in text


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _growth_text(series: Series) -> str:
    grown = series.growth()
    if grown is None:
        return "watching…"
    rows, seconds = grown
    span = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
    return f"{'+' if rows >= 0 else ''}{rows:,} in the last {span}"


def symptoms(incident: dict[str, Any], connectors: dict[str, str], sink_lag: dict[str, int],
             history: History) -> list[dict[str, Any]]:
    """The six symptoms on the table, each with its live evidence and what its own signal says."""
    fig = figures(incident, "")
    gap = money.to_decimal(fig["gap"]["value"])
    cards = []

    cards.append({
        "key": "tile", "signal": "red" if gap else "green",
        "title": "The tile vs the ERP",
        "claim": f"CFO tile {fig['tile']['short']} · ERP system of record {fig['erp']['short']}"
                 + (f" (Δ {fig['gap']['short']} {fig['gap']['direction']})" if gap else " — they agree"),
        "evidence": [["Q2 revenue tile (analytics.revenue_quarterly)", fig["tile"]["exact"]],
                     ["ERP net revenue (the ledger)", fig["erp"]["exact"]],
                     ["gap", fig["gap"]["exact"]]]})

    age = incident.get("freshness_age_s")
    fresh = incident.get("freshness_pass")
    fct, raw = incident.get("fct_orders_rows"), incident.get("raw_orders_rows")
    cards.append({
        "key": "rows", "signal": "green" if fresh else "red",
        "title": "Row counts and freshness",
        "claim": "fct_orders keeps growing; no freshness anomaly",
        "evidence": [["fct_orders rows", f"{fct:,}" if fct is not None else "n/a"],
                     ["raw.orders rows (landed by CDC)",
                      (f"{raw:,}" if raw is not None else "n/a") + f" · {_growth_text(history.raw_rows)}"],
                     ["source freshness", ("pass" if fresh else "FAIL") + f" · newest row landed {_ago(age)} "
                      f"(errors after {FRESHNESS_ERROR_AFTER_H} h)"]]})

    source = connectors.get("shop-source")
    sink = connectors.get("warehouse-sink")
    lag_ms = incident.get("cdc_lag_ms")
    msgs = sum(sink_lag.values()) if sink_lag else None
    cdc_ok = connector_ok(source) and connector_ok(sink)
    cards.append({
        "key": "cdc", "signal": "green" if cdc_ok else "red",
        "title": "Debezium connector",
        "claim": f"lag {lag_ms if lag_ms is not None else '?'} ms · status {connector_state(source)[0]}",
        "evidence": [["shop-source (Debezium PostgreSQL)", source or "n/a"],
                     ["warehouse-sink (JDBC)", sink or "n/a"],
                     ["lag in ms", (f"{lag_ms:,} ms" if lag_ms is not None else "n/a")
                      + f" · {incident.get('cdc_pending', 0)} change(s) on their way"],
                     ["lag in messages (sink consumer group)", f"{msgs:,}" if msgs is not None else "n/a"]],
        "note": "Lag in ms is derived from the source's own commit timestamps (PostgreSQL "
                "track_commit_timestamp) and the time each row landed in the warehouse (_synced_at): now − the "
                "oldest commit still on its way, else the latency of the latest change. Lag in messages is the "
                "JDBC sink's consumer-group lag in Kafka."})

    latest = incident.get("dbt_latest") or {}
    streak = incident.get("dbt_success_streak")
    cards.append({
        "key": "dbt", "signal": "green" if latest.get("status") == "success" else "red",
        "title": "dbt run history",
        "claim": f"{streak if streak is not None else '?'} consecutive successes · every test passing"
                 if latest.get("status") == "success" else "the latest dbt run did not succeed",
        "evidence": [["consecutive successful runs", f"{streak}" if streak is not None else "n/a"],
                     ["latest run", (f"{latest.get('status')} · {latest.get('models')} models · "
                                     f"{latest.get('tests_passed')} tests passed, {latest.get('tests_failed')} failed")
                      if latest else "n/a"],
                     ["latest run started (story time)", (latest.get("started_at") or "n/a")[:16].replace("T", " ")
                      + (f" · {latest.get('trigger')}" if latest.get("trigger") else "")]]})

    alerts = incident.get("alerts")
    cards.append({
        "key": "alerts", "signal": "green" if not alerts else "red",
        "title": "Alerts",
        "claim": "zero PagerDuty pages, zero #data-alerts messages" if not alerts else f"{alerts} alert(s) fired",
        "evidence": [["alerts fired (ops.alerts)", f"{alerts}" if alerts is not None else "n/a"]]})

    migrations = incident.get("migrations") or []
    cards.append({
        "key": "schema", "signal": "green",
        "title": "Schema change log",
        "claim": "the only recent schema change: orders.refunded_at",
        "evidence": [[m["applied_at"][:10], f"{m['version']} — {m['description']}"] for m in migrations],
        "highlight": "refunded_at"})
    return cards


# --- the component map -----------------------------------------------------------------------------------
# (id, title, what it is, the component whose health and log it shows, grid row, grid column)
BOXES: list[tuple[str, str, str, str, int, int]] = [
    ("orders", "orders service", "writes orders and v2 refunds, posts them to the ERP", "orders-service", 1, 1),
    ("oltp", "OLTP PostgreSQL", "database shop: orders, customers", "oltp", 1, 2),
    ("debezium", "Debezium source", "connector shop-source on Kafka Connect", "connect", 1, 3),
    ("kafka", "Kafka", "topics shop.public.orders, .customers", "kafka", 1, 4),
    ("sink", "JDBC sink", "connector warehouse-sink on Kafka Connect", "connect", 1, 5),
    ("warehouse", "warehouse PostgreSQL", "raw.orders, raw.customers", "warehouse", 1, 6),
    ("dbt", "dbt", "the scheduler: stg_orders → fct_orders → revenue_quarterly", "scheduler", 1, 7),
    ("tile", "CFO tile", "analytics.revenue_quarterly, Q2", "warehouse", 1, 8),
    ("erp", "ERP ledger", "database erp on the OLTP server", "oltp", 2, 2),
    ("export", "finance export", "ERP control totals, run by the orders service", "orders-service", 2, 4),
    ("erp_wh", "warehouse erp", "erp.daily_control_totals", "warehouse", 2, 6),
]
EDGES = [("orders", "oltp"), ("oltp", "debezium"), ("debezium", "kafka"), ("kafka", "sink"), ("sink", "warehouse"),
         ("warehouse", "dbt"), ("dbt", "tile"), ("orders", "erp"), ("erp", "export"), ("export", "erp_wh")]
BOX_COMPONENT = {b[0]: b[3] for b in BOXES}


def _fmt_rate(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.2f} msg/s"


def component_map(components: list[Any], connectors: dict[str, str], end_offsets: dict[str, int],
                  sink_lag: dict[str, int], incident: dict[str, Any], history: History) -> dict[str, Any]:
    health = {h.name: h for h in components}
    boxes = []
    for box_id, title, what, comp, row, col in BOXES:
        h = health.get(comp)
        up = bool(h and h.healthy)
        lines: list[str] = []
        if h is not None:
            where = f":{h.port} · " if h.port else ""
            lines.append(f"{where}{h.handle or 'not running'}")
        spark: list[float] | None = None
        spark_label = ""
        state = (h.detail if h else "not in this lab") or ""
        if box_id in ("debezium", "sink"):
            name = "shop-source" if box_id == "debezium" else "warehouse-sink"
            text = connectors.get(name)
            head, tasks = connector_state(text)
            up = up and connector_ok(text)
            state = head.lower() if head else state
            lines.append(f"{name} {head.lower()}")
            if tasks:
                lines.append(tasks.lower())
            if box_id == "debezium":
                lag_ms = incident.get("cdc_lag_ms")
                lines.append(f"lag {lag_ms:,} ms" if lag_ms is not None else "lag n/a")
            else:
                msgs = sum(sink_lag.values()) if sink_lag else None
                lines.append(f"lag {msgs:,} messages" if msgs is not None else "lag n/a")
                spark, spark_label = [float(v) for v in history.sink_lag], "sink lag (messages)"
        elif box_id == "kafka":
            for topic in TOPICS:
                if topic in end_offsets:
                    lines.append(f"{topic.rsplit('.', 1)[-1]} @ {end_offsets[topic]:,}")
            lines.append(_fmt_rate(history.total_rate()))
            spark, spark_label = history.total_rates(), "throughput (msg/s)"
        elif box_id == "warehouse":
            raw = incident.get("raw_orders_rows")
            lines.append(f"raw.orders {raw:,}" if raw is not None else "raw.orders n/a")
        elif box_id == "oltp":
            lines.append(state)
        elif box_id == "dbt":
            streak = incident.get("dbt_success_streak")
            latest = (incident.get("dbt_latest") or {}).get("status")
            lines.append(f"{streak} green runs" if streak is not None else "run history n/a")
            if latest:
                lines.append(f"latest: {latest}")
        elif box_id == "tile":
            tile = money.to_decimal(incident.get("tile"))
            up = up and tile is not None
            lines = [f"Q2 {money.short(tile)}", "fresh" if incident.get("freshness_pass") else "stale"]
            state = "showing" if tile is not None else "no tile"
        elif box_id == "erp":
            lines.append(f"Q2 net {money.short(money.to_decimal(incident.get('erp')))}")
        elif box_id in ("orders", "export"):
            lines.append(state)
        boxes.append({"id": box_id, "title": title, "what": what, "component": comp, "row": row, "col": col,
                      "healthy": up, "state": "healthy" if up else ("down" if h is None or not h.healthy else state),
                      "lines": lines, "spark": spark, "spark_label": spark_label})
    return {"boxes": boxes, "edges": EDGES}


def health_dict(h: Any) -> dict[str, Any]:
    return {"name": h.name, "healthy": h.healthy, "port": h.port, "pid": h.pid, "handle": h.handle,
            "detail": h.detail}


# --- the clock -------------------------------------------------------------------------------------------
def clock(c: Any, hints_used: int, hints_total: int) -> dict[str, Any]:
    return {"started": c.started_at is not None, "remaining_s": c.remaining_s, "story_now": c.story_now.isoformat(),
            "board_meeting": c.board_meeting.isoformat(), "text": c.text,
            "hints_used": hints_used, "hints_total": hints_total}
