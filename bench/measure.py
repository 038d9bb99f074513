"""Each figure of LAB_SPEC §7, measured on the bench lab the way a user meets it: the real `lab` CLI."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bench.sandbox import BenchError, BenchLab, Result

# The default seed's figures (LAB_SPEC §4): what a pristine lab shows.
PRISTINE_TILE = Decimal("4206000.00")
PRISTINE_ERP = Decimal("3690000.00")
REFERENCE_FIX = "tests/fixes/reference/reference.patch"


@dataclass
class Timing:
    """Repeated wall-clock timings of one command, with what each repetition ended in."""

    samples: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: str = "measured"  # or "not measured (<why>)"

    def add(self, seconds: float, note: str = "") -> None:
        self.samples.append(round(seconds, 2))
        if note:
            self.notes.append(note)

    def stats(self) -> dict[str, float]:
        if not self.samples:
            return {}
        return {"min": min(self.samples), "median": round(statistics.median(self.samples), 2),
                "max": max(self.samples)}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), **self.stats()}


def _healthy(bl: BenchLab) -> tuple[bool, str]:
    res = bl.run("status", "--json")
    return res.ok, ("healthy" if res.ok else f"`lab status` exit {res.returncode}")


# 1. cold `lab up`: a fresh LAB_HOME, an empty jar cache and (unless kept) an empty Maven repository -------
def cold_up(bl: BenchLab) -> Timing:
    timing = Timing()
    res = bl.run_ok("up", timeout=1800)
    ok, why = _healthy(bl)
    timing.add(res.seconds, "" if ok else why)
    return timing


# 2. warm `lab up` from stopped to incident-ready -----------------------------------------------------
def warm_up(bl: BenchLab, reps: int) -> Timing:
    timing = Timing()
    for _ in range(reps):
        bl.run_ok("down")
        res = bl.run_ok("up")
        ok, why = _healthy(bl)
        timing.add(res.seconds, "" if ok else why)
    return timing


# 3. `lab reset` from a modified running lab ------------------------------------------------------------
def modify(bl: BenchLab) -> str:
    """What a learner does in the lab: edit a model, build it, make some orders and a refund."""
    from lab import dbt

    fix = bl.src / REFERENCE_FIX
    if fix.exists() and bl.git("apply", "--check", str(fix), check=False).returncode == 0:
        bl.git("apply", str(fix))
        edited = "reference fix applied"
    else:
        model = bl.src / "dbt_project" / "models" / "marts" / "fct_orders.sql"
        model.write_text(model.read_text() + "\n-- edited by the bench\n")
        edited = "comment added to fct_orders.sql"
    run = dbt.run(bl.settings(), ["run"], target="transform")
    made = []
    for amount in ("12.34", "250.00", "99.99"):
        res = bl.run_ok("orders", "create", "--amount", amount)
        made.append(int(res.stdout.split("order ", 1)[1].split(":", 1)[0].split()[0]))
    bl.run_ok("orders", "refund-v2", str(made[0]))
    return f"{edited}, dbt run {'ok' if run.ok else 'failed'}, 3 orders and 1 v2 refund made"


def reset(bl: BenchLab, reps: int) -> Timing:
    from lab import incident

    timing = Timing()
    for _ in range(reps):
        modify(bl)
        res = bl.run_ok("reset")
        lab = bl.lab()
        tile, erp = incident.tile(lab), incident.erp(lab)
        problems = []
        if tile != PRISTINE_TILE or erp != PRISTINE_ERP:
            problems.append(f"not pristine after reset: tile {tile}, ERP {erp}")
        if not bl.code_is_pristine():
            problems.append("dbt_project/ not restored")
        ok, why = _healthy(bl)
        if not ok:
            problems.append(why)
        timing.add(res.seconds, "; ".join(problems))
    return timing


# 4. `lab check` including the live probe ---------------------------------------------------------------
def check_available(bl: BenchLab) -> tuple[bool, str]:
    res = bl.run("check", "--help", timeout=60)
    if res.ok:
        return True, ""
    return False, res.last_line or f"exit {res.returncode}"


def check(bl: BenchLab, reps: int) -> Timing:
    """`lab check` on the reference fix, so every criterion runs, the live probe included."""
    available, why = check_available(bl)
    if not available:
        return Timing(status="not measured (lab check unavailable)", notes=[f"`lab check --help`: {why}"])
    timing = Timing()
    fix = bl.src / REFERENCE_FIX
    applied = fix.exists() and bl.git("apply", str(fix), check=False).returncode == 0
    try:
        for _ in range(reps):
            res: Result = bl.run("check", timeout=900)
            outcome = "pass" if res.ok else f"exit {res.returncode}: {res.last_line[:160]}"
            timing.add(res.seconds, "" if res.ok else outcome)
    finally:
        if applied:
            bl.git("checkout", "--", "dbt_project")
            bl.git("clean", "-fdq", "--", "dbt_project")  # files the fix added
    if not applied:
        timing.notes.append("reference fix not applied (missing or did not apply): checked the shipped models")
    return timing


# 5. change latency, OLTP commit -> warehouse row ------------------------------------------------------
@dataclass
class Latency:
    changes: int = 0
    seconds_writing: float = 0.0
    rate_per_s: float = 0.0
    requested_per_minute: float = 0.0
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    status: str = "measured"
    notes: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n*q/100)
    return ordered[int(rank) - 1]


def latency(bl: BenchLab, changes: int, per_minute: float) -> Latency:
    """Restart the orders service at a steady, higher rate; once `changes` order rows have been committed
    (inserts and v2-refund updates), pause it and let the pipeline settle. Then, per row changed since the
    start: its commit time on the OLTP server (pg_xact_commit_timestamp(xmin), track_commit_timestamp=on)
    against the time it landed in the warehouse (raw.orders._synced_at, set by a trigger when the sink
    writes the row). Both servers run on this machine, so they share one clock."""
    from lab import sync

    lab = bl.lab()
    out = Latency(requested_per_minute=per_minute)
    lab.orders.stop()
    with lab.oltp.connect("shop") as shop:
        (t0,) = shop.execute("select clock_timestamp()").fetchone()
    bl.run_ok("up", extra_env={"LAB_ORDERS_PER_MINUTE": str(per_minute), "LAB_FIRST_ORDER_AFTER": "0"})
    lab.orders.resume()
    started = time.monotonic()
    deadline = started + changes / (per_minute / 60.0) * 4 + 120
    query = "select count(*) from orders where pg_xact_commit_timestamp(xmin) > %s"
    with lab.oltp.connect("shop") as shop:
        while True:
            (done,) = shop.execute(query, (t0,)).fetchone()
            if done >= changes:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"the orders service wrote only {done} changes in "
                                 f"{time.monotonic() - started:.0f} s (asked for {changes})")
            time.sleep(1.0)
    lab.orders.pause()
    out.seconds_writing = round(time.monotonic() - started, 1)
    time.sleep(1.0)  # an order being written when the pause flag appeared commits
    sync.wait_in_sync(lab, timeout=120)
    with lab.oltp.connect("shop") as shop:
        committed: dict[int, datetime] = dict(shop.execute(
            "select order_id, pg_xact_commit_timestamp(xmin) from orders "
            "where pg_xact_commit_timestamp(xmin) > %s", (t0,)).fetchall())
    with lab.warehouse.connect("warehouse") as wh:
        landed: dict[int, datetime] = dict(wh.execute(
            "select order_id, _synced_at from raw.orders where order_id = any(%s)",
            (list(committed),)).fetchall())
    missing = [oid for oid in committed if oid not in landed]
    if missing:
        out.notes.append(f"{len(missing)} changed rows not in the warehouse: {missing[:10]}")
    values = [(landed[oid] - ts).total_seconds() for oid, ts in committed.items() if oid in landed]
    if not values:
        out.status = "not measured (no change landed)"
        return out
    if min(values) < 0:
        out.notes.append(f"{sum(v < 0 for v in values)} negative latencies (clock?)")
    out.changes = len(values)
    out.rate_per_s = round(len(committed) / out.seconds_writing, 2)
    out.p50, out.p90, out.p99 = (round(percentile(values, q), 3) for q in (50, 90, 99))
    out.min, out.max = round(min(values), 3), round(max(values), 3)
    out.mean = round(statistics.fmean(values), 3)
    return out
