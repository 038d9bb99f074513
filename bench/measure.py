"""Each figure of LAB_SPEC §7, measured on a bench lab the way a user meets it: the real `lab` CLI."""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bench.sandbox import FLEET_FIRST, REPO, BenchError, BenchLab, Result

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
    extra: dict[str, Any] = field(default_factory=dict)

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
        d = {**asdict(self), **self.stats()}
        d.update(d.pop("extra"))
        return d


def _healthy(bl: BenchLab) -> tuple[bool, str]:
    res = bl.run("status", "--json")
    return res.ok, ("healthy" if res.ok else f"`lab status` exit {res.returncode}")


# `lab up` ------------------------------------------------------------------------------------------------
def cold_up(bl: BenchLab) -> Timing:
    """A fresh home (docker: new volumes too; images, jars and the venv already there): `lab down --wipe`,
    then `lab up` until it returns."""
    bl.run_ok("down", "--wipe")
    timing = Timing()
    res = bl.run_ok("up", timeout=1800)
    ok, why = _healthy(bl)
    timing.add(res.seconds, "" if ok else why)
    return timing


def images_cold(bl: BenchLab) -> Timing:
    """Docker: the lab's images rebuilt without the build cache (Debian packages and the jars fetched again;
    the base image debian:bookworm-slim is kept), then `lab up` on new volumes. The images keep their tags,
    so no container of another lab loses its image."""
    from lab.runtime.docker import DockerRuntime

    bl.run_ok("down", "--wipe")
    started = time.monotonic()
    DockerRuntime(bl.settings()).compose("build", "--no-cache", timeout=3600)
    built = time.monotonic() - started
    res = bl.run_ok("up", timeout=1800)
    ok, why = _healthy(bl)
    timing = Timing(extra={"build_s": round(built, 1), "up_s": round(res.seconds, 1)})
    timing.add(built + res.seconds, "" if ok else why)
    return timing


def warm_up(bl: BenchLab, reps: int) -> Timing:
    timing = Timing()
    for _ in range(reps):
        bl.run_ok("down")
        res = bl.run_ok("up")
        ok, why = _healthy(bl)
        timing.add(res.seconds, "" if ok else why)
    return timing


# `lab reset` from a modified running lab ----------------------------------------------------------------
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


def pristine_problems(bl: BenchLab) -> list[str]:
    from lab import incident

    lab = bl.lab()
    tile, erp = incident.tile(lab), incident.erp(lab)
    problems = []
    if tile != PRISTINE_TILE or erp != PRISTINE_ERP:
        problems.append(f"{bl.name}: not pristine after reset: tile {tile}, ERP {erp}")
    if not bl.code_is_pristine():
        problems.append(f"{bl.name}: dbt_project/ not restored")
    ok, why = _healthy(bl)
    if not ok:
        problems.append(f"{bl.name}: {why}")
    return problems


def reset(bl: BenchLab, reps: int) -> Timing:
    timing = Timing()
    for _ in range(reps):
        modify(bl)
        res = bl.run_ok("reset")
        timing.add(res.seconds, "; ".join(pristine_problems(bl)))
    return timing


# `lab check` including the live probe ---------------------------------------------------------------------
def check_available(bl: BenchLab) -> tuple[bool, str]:
    res = bl.run("check", "--help", timeout=60)
    if res.ok:
        return True, ""
    return False, res.last_line or f"exit {res.returncode}"


def apply_fix(bl: BenchLab) -> bool:
    fix = bl.src / REFERENCE_FIX
    return fix.exists() and bl.git("apply", str(fix), check=False).returncode == 0


def check(bl: BenchLab, reps: int) -> Timing:
    """`lab check --out DIR` on the reference fix, so every criterion runs, the live probe included; where
    the time goes is read from each report.json (`lab.timings`, seconds per step)."""
    available, why = check_available(bl)
    if not available:
        return Timing(status="not measured (lab check unavailable)", notes=[f"`lab check --help`: {why}"])
    timing = Timing()
    applied = apply_fix(bl)
    steps: dict[str, list[float]] = {}
    verdicts = []
    try:
        for rep in range(reps):
            out = bl.home / "bench-check" / f"rep-{rep + 1}"
            res: Result = bl.run("check", "--out", str(out), timeout=900)
            outcome = "pass" if res.ok else f"exit {res.returncode}: {res.last_line[:160]}"
            timing.add(res.seconds, "" if res.ok else outcome)
            verdicts.append(outcome)
            report = out / "report.json"
            if report.exists():
                for name, seconds in ((json.loads(report.read_text()).get("lab") or {}).get("timings") or {}).items():
                    steps.setdefault(name, []).append(float(seconds))
            else:
                timing.notes.append(f"repetition {rep + 1}: no report.json in {out}")
    finally:
        if applied:
            bl.restore_code()
    if not applied:
        timing.notes.append("reference fix not applied (missing or did not apply): checked the shipped models")
    timing.extra["verdicts"] = verdicts
    timing.extra["breakdown_median_s"] = {k: round(statistics.median(v), 2) for k, v in steps.items()}
    timing.extra["breakdown_samples_s"] = steps
    return timing


# change latency, OLTP commit -> warehouse row, with the workspace page open ----------------------------
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
    page: str = ""  # "open …" or "not measured: <why>"
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
    writes the row). Both servers run on this machine (containers too), so they share one clock.
    The workspace page is open in headless chromium the whole time (bench/browser.py)."""
    from bench.browser import WorkspacePage
    from lab import sync, workspace_link

    lab = bl.lab()
    out = Latency(requested_per_minute=per_minute)
    url = workspace_link.url(lab.settings) if lab.workspace is not None else None
    with WorkspacePage(url) as page:
        if page.why:
            out.page = f"not measured: {page.why}"
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
        if not page.why:
            shown = page.page.text_content("#tile-short") if page.page else None
            out.page = (f"open in headless chromium {page.info.get('chromium', '')} for the whole run "
                        f"({page.requests} requests; tile shown {shown})")
            if page.console_errors:
                out.notes.append(f"page console errors: {page.console_errors[:3]}")
    with lab.oltp.connect("shop") as shop:
        committed: dict[int, datetime] = dict(shop.execute(
            "select order_id, pg_xact_commit_timestamp(xmin) from orders "
            "where pg_xact_commit_timestamp(xmin) > %s", (t0,)).fetchall())
    with lab.warehouse.connect("warehouse") as wh:
        landed: dict[int, datetime] = dict(wh.execute(
            "select order_id, _synced_at from raw.orders where order_id = any(%s)",
            (list(committed),)).fetchall())
    # back to the shop's usual pace for what follows
    lab.orders.stop()
    bl.run_ok("up")
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


# the workspace: its memory with the page open while a check streams ----------------------------------------
def workspace(bl: BenchLab) -> dict[str, Any]:
    """Open the page, press "Ship the fix" (the reference fix applied, so every criterion runs), and sample
    the workspace server's RSS every 0.25 s until the check's verdict is on the page."""
    import httpx

    from bench.browser import WorkspacePage
    from bench.memory import ProcessPeak
    from lab import workspace_link

    lab = bl.lab()
    if lab.workspace is None:
        return {"status": "not measured: this lab has no workspace component (stack/components.toml)"}
    pid = lab.workspace.pid()
    if not pid:
        return {"status": "not measured: the workspace is not running"}
    url = workspace_link.url(lab.settings)
    base = url.split("/?", 1)[0]
    auth = {"Authorization": f"token {workspace_link.token(lab.settings)}"}

    def check_state() -> dict[str, Any]:
        state = httpx.get(f"{base}/api/state", headers=auth, timeout=10).json()
        return state.get("check") or {}

    applied = apply_fix(bl)
    sampler = ProcessPeak(pid)
    out: dict[str, Any] = {}
    try:
        with WorkspacePage(url) as page:
            if page.why:
                return {"status": f"not measured: {page.why}"}
            sampler.start()
            before = check_state().get("id", 0)
            out["pressed"] = page.ship()
            started = time.monotonic()
            state: dict[str, Any] = {}
            while time.monotonic() - started < 600:
                state = check_state()
                if state.get("id", 0) > before and not state.get("running"):
                    break
                time.sleep(0.5)
            else:
                raise BenchError("the check started from the workspace did not finish in 600 s")
            if state.get("id", 0) <= before:
                raise BenchError("pressing Ship did not start a check")
            # the verdict as the learner sees it, once the page has drawn it
            page.page.locator("#ship-status", has_text=re.compile(r"\S")).wait_for(timeout=30000)
            out["page_verdict_text"] = (page.page.text_content("#ship-status") or "").strip()[:200]
            out["check_s"] = round(time.monotonic() - started, 1)
            out["criteria_streamed"] = len(state.get("criteria") or [])
            out["phases_streamed"] = state.get("phases")
            out["verdict"] = (state.get("verdict") or {}).get("status") or state.get("error")
            out["page"] = page.info
    finally:
        sampler.stop()
        if applied:
            bl.restore_code()
    if sampler.error:
        return {**out, "status": f"not measured: {sampler.error}"}
    out.update(status="measured", peak_rss_mib=round(sampler.peak_rss / 2**20, 1),
               check_processes_peak_rss_mib=round(sampler.peak_children_rss / 2**20, 1), samples=sampler.samples,
               reference_fix=applied)
    return out


# `lab fleet reset` of N native labs at once ---------------------------------------------------------------
def fleet(runner: BenchLab, n: int, sampler_factory) -> dict[str, Any]:
    """Through `lab fleet` (run from the native bench lab's snapshot): N labs of their own (instances 96…,
    homes .lab-bench-fleet-k) made fresh, each modified like a learner would, then `lab fleet reset` — the
    wall time until the command returns with all N pristine (checked after), and each lab's own time."""
    spec = f"{FLEET_FIRST}-{FLEET_FIRST + n - 1}"
    prefix = REPO / ".lab-bench-fleet"
    work = REPO / ".lab-bench-src" / "fleet"
    work.mkdir(parents=True, exist_ok=True)
    common = ["--instances", spec, "--home-prefix", str(prefix)]

    def fleet_cmd(*args: str, timeout: float = 3600) -> Result:
        return runner.run(*args, *common, module="lab.fleet", timeout=timeout)

    out: dict[str, Any] = {"instances": spec, "labs": n}
    fleet_cmd("down", "--wipe")  # leftovers of an earlier run: start from fresh homes and working copies
    from lab.fleet import instances

    insts = instances(range(FLEET_FIRST, FLEET_FIRST + n), prefix, runner.src)
    labs = [BenchLab(i.name, "native", i.number, i.home, i.src) for i in insts]
    sampler = None
    try:
        up = fleet_cmd("up", "--report", str(work / "up.json"))
        if not up.ok:
            raise BenchError(f"`lab fleet up` exited {up.returncode}: {up.last_line}\n"
                             + "\n".join(up.stdout.splitlines()[-(n + 3):]))
        sampler = sampler_factory(labs)  # the labs' working copies exist from here on
        sampler.start()
        out["up_wall_s"] = round(up.seconds, 1)
        out["up_each_s"] = {f"lab-{r['instance']}": r["seconds"] for r in
                            json.loads((work / "up.json").read_text())["instances"]}
        sampler.phase = "modify"
        out["modified"] = {bl.name: modify(bl) for bl in labs}
        sampler.phase = "fleet reset"
        res = fleet_cmd("reset", "--report", str(work / "reset.json"))
        out["reset_wall_s"] = round(res.seconds, 2)
        if not res.ok:
            raise BenchError(f"`lab fleet reset` exited {res.returncode}: {res.last_line}\n"
                             + "\n".join(res.stdout.splitlines()[-(n + 3):]))
        doc = json.loads((work / "reset.json").read_text())
        out["reset_fleet_wall_s"] = doc["wall_s"]
        out["reset_each_s"] = {f"lab-{r['instance']}": r["seconds"] for r in doc["instances"]}
        sampler.phase = "after"
        problems = [p for bl in labs for p in pristine_problems(bl)]
        out["pristine"] = not problems
        if problems:
            out["notes"] = problems
    finally:
        if sampler is not None:
            sampler.stop()
            out["memory"] = sampler.summary()
        down = fleet_cmd("down", "--wipe")
        if not down.ok:
            out.setdefault("notes", []).append(f"`lab fleet down --wipe` exited {down.returncode}: {down.last_line}")
    return out
