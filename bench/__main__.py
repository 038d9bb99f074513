"""`python -m bench` (`make bench`): measure the quality bars of LAB_SPEC §7 on this machine, both runtimes
side by side in one run.

Per runtime, on a lab of its own (native: instance 94, .lab-bench-native; docker: instance 95,
.lab-bench-docker), run from a snapshot of the working tree: cold `lab up` (fresh home), warm `lab up` ×N,
change latency over ≥500 changes with the workspace page open in headless chromium, the workspace's memory
while the page is open and a check streams, `lab reset` ×N from a modified lab, `lab check` ×N with where its
time goes; memory is sampled all along (docker: the engine too). Then `lab fleet reset` of 4 native labs at
once. Every lab is brought down at the end (docker: `lab down --wipe`, no volume left). Results:
bench/results/latest.json (+ a copy named by the start time) and one table with a column per runtime.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from bench import measure, report
from bench.memory import MemorySampler, engine_processes
from bench.sandbox import REPO, SNAPSHOTS, BenchError, BenchLab, take_snapshot, tree_id

PHASES = ("cold", "up", "latency", "workspace", "reset", "check", "fleet")
NO_ENGINE = "not measured: no engine answers (stack/docker/engine.sh start)"
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def _say(text: str) -> None:
    console.print(f"[bold cyan]bench[/] {text}")


class Run:
    """One runtime's measurements: each phase either yields its figure or is recorded as failed."""

    def __init__(self, bl: BenchLab) -> None:
        self.bl = bl
        self.doc: dict[str, Any] = {"runtime": bl.runtime, "instance": bl.instance, "home": str(bl.home),
                                    "snapshot": str(bl.src), "status": "measured", "figures": {}, "errors": []}
        self.sampler: MemorySampler | None = None

    def phase(self, key: str, what: str, fn: Callable[[], Any]) -> bool:
        _say(f"{self.bl.runtime}: {what} …")
        if self.sampler is not None:
            self.sampler.phase = key
        started = time.monotonic()
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - a failed phase is reported as failed, never as a number
            line = f"{type(exc).__name__}: {exc}".strip()
            self.doc["figures"][key] = {"status": f"failed: {line.splitlines()[0][:300]}", "error": line[-3000:]}
            self.doc["errors"].append(f"{self.bl.runtime} {key}: {line.splitlines()[0][:300]}")
            console.print(f"[bold red]  failed:[/] {line[-1500:]}")
            if not isinstance(exc, BenchError):
                traceback.print_exc()
            return False
        self.doc["figures"][key] = value.as_dict() if hasattr(value, "as_dict") else (
            asdict(value) if hasattr(value, "__dataclass_fields__") else value)
        _say(f"{self.bl.runtime}: {what}: done in {time.monotonic() - started:.0f} s")
        return True


def _sampler(bl: BenchLab, anonymous: set[str]) -> MemorySampler:
    lab = bl.lab()
    comps = {c.name: c for c in lab.all}

    def roots() -> dict[str, int]:
        return {name: pid for name, c in comps.items() if (pid := c.pid())}

    extra = None
    if bl.runtime == "docker":
        def extra():  # the engine: dockerd, containerd, the shims of this lab's containers, its port proxies
            anonymous.update(anonymous_volumes(lab.runtime.project))
            pids = [pid for c in lab.servers if (pid := c.pid())]
            return engine_processes(pids, lab.settings.ports.values())
    return MemorySampler([bl.home], roots, extra=extra)


def anonymous_volumes(project: str) -> set[str]:
    """Volumes mounted in this compose project's containers that compose.yaml does not name (an image's
    VOLUME with no named volume over it): `lab down --wipe` should leave none of them behind."""
    ids = subprocess.run(["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}"],
                         capture_output=True, text=True).stdout.split()
    if not ids:
        return set()
    out = subprocess.run(["docker", "inspect", "--format", "{{json .Mounts}}", *ids], capture_output=True, text=True)
    found = set()
    for line in out.stdout.splitlines():
        for mount in json.loads(line or "[]") or []:
            if mount.get("Type") == "volume":
                found.add(mount["Name"])
    named = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}"],
                           capture_output=True, text=True).stdout.split()
    return found - set(named)


def left_behind(project: str, anonymous: set[str]) -> list[str]:
    """After `lab down --wipe`: this lab's volumes that still exist (removed by the bench, and reported)."""
    left = [v for v in sorted(anonymous)
            if subprocess.run(["docker", "volume", "inspect", v], capture_output=True).returncode == 0]
    named = subprocess.run(["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}"],
                           capture_output=True, text=True).stdout.split()
    for volume in left + named:
        subprocess.run(["docker", "volume", "rm", volume], capture_output=True)
    return left + named


def _fleet_sampler(labs: list[BenchLab]) -> MemorySampler:
    built = [(bl.name, bl.lab()) for bl in labs]

    def roots() -> dict[str, int]:
        return {f"{name} {c.name}": pid for name, lab in built for c in lab.all if (pid := c.pid())}

    return MemorySampler([bl.home for bl in labs], roots)


def measure_runtime(runtime: str, phases: list[str], opts: dict[str, Any]) -> dict[str, Any]:
    cold_caches = opts["cold_caches"]
    if runtime == "docker":
        from lab.runtime.docker import engine_answers

        if not engine_answers():
            _say(f"docker: {NO_ENGINE}")
            return {"runtime": "docker", "status": NO_ENGINE, "figures": {}, "errors": []}
    bl = BenchLab.for_runtime(runtime)
    run = Run(bl)
    anonymous: set[str] = set()
    reps = opts["reps"]
    if bl.src.exists() and bl.home.exists():
        _say(f"{runtime}: stopping what is left of an earlier bench lab")
        bl.run("down")
    bl.snapshot()
    from lab.code import pristine_dir

    shutil.rmtree(pristine_dir(bl.settings()), ignore_errors=True)  # the shipped models of this snapshot
    try:
        if cold_caches and runtime == "native":
            cold = REPO / ".lab-bench-cold"
            shutil.rmtree(cold, ignore_errors=True)
            cbl = BenchLab(bl.name, runtime, bl.instance, bl.home, bl.src, cache_dir=cold / "cache",
                           maven_repo=None if opts["keep_maven"] else cold / "m2")
            run.phase("up_caches_cold", "`lab up` with an empty jar cache" + (
                "" if opts["keep_maven"] else " and Maven repository"), lambda: measure.cold_up(cbl))
            cbl.run("down")
            shutil.rmtree(cold, ignore_errors=True)
        elif cold_caches and runtime == "docker":
            run.phase("up_caches_cold", "images rebuilt without cache, then `lab up`", lambda: measure.images_cold(bl))
        run.sampler = _sampler(bl, anonymous)
        run.sampler.start()
        if "cold" in phases:
            run.phase("up_cold", "cold `lab up` (fresh home" + (", new volumes" if runtime == "docker" else "") + ")",
                      lambda: measure.cold_up(bl))
        elif not (bl.home / "runtime").exists():
            run.phase("up_fresh_home", "first `lab up` of this home", lambda: measure.cold_up(bl))
        if "up" in phases:
            run.phase("up_warm", f"warm `lab up` from stopped, ×{reps}", lambda: measure.warm_up(bl, reps))
        else:
            bl.run_ok("up")
        if "latency" in phases:
            run.phase("latency", f"change latency ({opts['changes']} changes, workspace page open)",
                      lambda: measure.latency(bl, opts["changes"], opts["rate"]))
        if "workspace" in phases:
            run.phase("workspace", "workspace RSS: page open, Ship pressed, the check streaming",
                      lambda: measure.workspace(bl))
        if "reset" in phases:
            run.phase("reset", f"`lab reset` from a modified lab, ×{reps}", lambda: measure.reset(bl, reps))
        if "check" in phases:
            run.phase("check", f"`lab check` of the reference fix, ×{reps}", lambda: measure.check(bl, reps))
    except Exception as exc:  # noqa: BLE001 - the bench's own step (e.g. `lab up` between phases) failed
        run.doc["errors"].append(f"{runtime}: {type(exc).__name__}: {str(exc)[:500]}")
        console.print(f"[bold red]bench step failed:[/] {exc}")
    finally:
        if run.sampler is not None and run.sampler.is_alive():
            run.sampler.stop()
        if not opts["keep_up"]:
            args = ("down", "--wipe") if runtime == "docker" else ("down",)
            project = bl.lab().runtime.project if runtime == "docker" else ""
            _say(f"{runtime}: `lab {' '.join(args)}` of the bench lab")
            down = bl.run(*args)
            if not down.ok:
                run.doc["errors"].append(f"{runtime}: `lab {' '.join(args)}` exited {down.returncode}: "
                                         f"{down.last_line}")
            elif runtime == "docker":
                left = left_behind(project, anonymous)
                run.doc["volumes_left_by_down_wipe"] = left
                if left:
                    _say(f"docker: `lab down --wipe` left {len(left)} volume(s) of the lab behind (an image's "
                         f"VOLUME with no named volume over it?): {', '.join(v[:12] for v in left)} — removed")
    if run.sampler is not None:
        run.doc["figures"]["memory"] = run.sampler.summary()
    return run.doc


def measure_fleet(n: int, snapshot_fresh: bool) -> dict[str, Any]:
    runner = BenchLab.for_runtime("native")  # `lab fleet` runs from the native bench lab's snapshot
    if not snapshot_fresh:  # (this run's copy of the tree, unless the native lab already made it)
        runner.snapshot()
    _say(f"fleet: `lab fleet up` then `lab fleet reset` of {n} native labs at once …")
    try:
        out = measure.fleet(runner, n, _fleet_sampler)
    except Exception as exc:  # noqa: BLE001
        console.print(f"[bold red]  failed:[/] {exc}")
        return {"labs": n, "status": f"failed: {str(exc).splitlines()[0][:300]}", "error": str(exc)[-3000:]}
    out["status"] = "measured"
    return out


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--runtime", "which", type=click.Choice(["native", "docker", "both"]), default="both",
              show_default=True, help="Which runtime(s) to measure.")
@click.option("--reps", default=3, show_default=True, help="Repetitions of warm up, reset and check.")
@click.option("--changes", default=500, show_default=True, help="Changes the latency figure is computed over.")
@click.option("--rate", default=600.0, show_default=True, help="Orders per minute during the latency run.")
@click.option("--only", default=",".join(PHASES), show_default=True, help="Comma-separated phases to run.")
@click.option("--fleet", "fleet_n", default=4, show_default=True,
              help="Labs reset at once through `lab fleet reset` (native; 0 skips; at most 4).")
@click.option("--cold-caches", is_flag=True, help="Also `lab up` with cold caches: native, an empty jar cache and "
              "Maven repository (jars from Maven Central); docker, the images rebuilt without cache (downloads a "
              "lot).")
@click.option("--keep-maven", is_flag=True, help="With --cold-caches: keep ~/.m2 (only the jar cache is fresh).")
@click.option("--keep-up", is_flag=True, help="Leave the bench labs running at the end.")
@click.option("--out", type=click.Path(path_type=Path), default=REPO / "bench" / "results" / "latest.json",
              show_default=True)
def main(which: str, reps: int, changes: int, rate: float, only: str, fleet_n: int, cold_caches: bool,
         keep_maven: bool, keep_up: bool, out: Path) -> None:
    """Measure the lab against the bars of LAB_SPEC §7, native and docker side by side."""
    phases = [p.strip() for p in only.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise click.BadParameter(f"unknown phase(s) {sorted(unknown)}; choose from {PHASES}", param_hint="--only")
    if not 0 <= fleet_n <= 4:
        raise click.BadParameter("from 0 to 4 (instances 96–99)", param_hint="--fleet")
    runtimes = ["native", "docker"] if which == "both" else [which]
    opts = {"reps": reps, "changes": changes, "rate": rate, "cold_caches": cold_caches, "keep_maven": keep_maven,
            "keep_up": keep_up}
    _say(f"snapshot of the working tree → {SNAPSHOTS / 'tree'}")
    doc_note = take_snapshot()
    doc: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                           "machine": report.machine(), "tree": tree_id(),
                           "options": {**opts, "runtimes": runtimes, "phases": phases, "fleet": fleet_n},
                           "runtimes": {}, "fleet": None, "errors": []}
    if doc_note:
        doc["notes"] = [doc_note]
        _say(doc_note)
    t_start = time.monotonic()
    for runtime in runtimes if set(phases) - {"fleet"} else []:
        doc["runtimes"][runtime] = measure_runtime(runtime, phases, opts)
        doc["errors"] += doc["runtimes"][runtime]["errors"]
    if fleet_n and "fleet" in phases:
        doc["fleet"] = measure_fleet(fleet_n, snapshot_fresh="native" in doc["runtimes"])
        if doc["fleet"].get("status", "").startswith("failed"):
            doc["errors"].append(f"fleet: {doc['fleet']['status']}")
        doc["machine"]["load_after_fleet"] = [round(x, 2) for x in os.getloadavg()]
    doc["seconds"] = round(time.monotonic() - t_start, 1)
    doc["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report.write_json(out, doc)  # what was measured is kept even if the table cannot be made
    rows = report.judge(doc["runtimes"], doc["fleet"])
    doc["rows"] = rows
    doc["bars_missed"] = report.missed(rows)
    doc["markdown"] = report.markdown(rows)
    report.write_json(out, doc)
    stamped = out.parent / f"{doc['started_at'].replace(':', '')}.json"
    shutil.copyfile(out, stamped)
    console.print()
    report.render(rows, doc["machine"], console)
    console.print(f"[dim]JSON: {out} · tree {doc['tree']} · {doc['seconds']:.0f} s[/]")
    if doc["errors"]:
        console.print("[bold red]the bench did not complete:[/] " + " | ".join(doc["errors"])[:800])
        sys.exit(2)
    sys.exit(1 if doc["bars_missed"] else 0)


if __name__ == "__main__":
    main()
