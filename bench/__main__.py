"""`python -m bench` (`make bench`): measure the quality bars of LAB_SPEC §7 on this machine.

Phases, in order, on the bench's own lab (.lab-bench, ports offset by 40): [cold `lab up`], warm `lab up`
×N, change latency over ≥500 changes, `lab reset` ×N from a modified lab, `lab check` ×N; memory is
sampled all along. The lab is brought down at the end. Results: bench/results/latest.json and a table.
"""

from __future__ import annotations

import shutil
import sys
import time
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from bench import measure, report
from bench.memory import MemorySampler
from bench.sandbox import REPO, BenchError, BenchLab

PHASES = ("up", "latency", "reset", "check")
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _say(text: str) -> None:
    console.print(f"[bold cyan]bench[/] {text}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--reps", default=3, show_default=True, help="Repetitions of up, reset and check.")
@click.option("--changes", default=500, show_default=True, help="Changes the latency figure is computed over.")
@click.option("--rate", default=600.0, show_default=True, help="Orders per minute during the latency run.")
@click.option("--cold", is_flag=True, help="First measure `lab up` on a fresh machine: empty LAB_HOME, jar cache "
              "and Maven repository (downloads the jars from Maven Central).")
@click.option("--keep-maven", is_flag=True, help="With --cold: keep ~/.m2 (only LAB_HOME and the jar cache fresh).")
@click.option("--only", default=",".join(PHASES), show_default=True, help="Comma-separated phases to run.")
@click.option("--keep-up", is_flag=True, help="Leave the bench lab running at the end.")
@click.option("--home", type=click.Path(path_type=Path), default=REPO / ".lab-bench", show_default=True,
              help="LAB_HOME of the bench lab.")
@click.option("--out", type=click.Path(path_type=Path), default=REPO / "bench" / "results" / "latest.json",
              show_default=True)
def main(reps: int, changes: int, rate: float, cold: bool, keep_maven: bool, only: str, keep_up: bool,
         home: Path, out: Path) -> None:
    """Measure the lab against the bars of LAB_SPEC §7."""
    phases = [p.strip() for p in only.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise click.BadParameter(f"unknown phase(s) {sorted(unknown)}; choose from {PHASES}", param_hint="--only")
    home = home.resolve()
    bl = BenchLab(home, cache_dir=home / "cold-cache" if cold else None,
                  maven_repo=home / "cold-m2" if cold and not keep_maven else None)
    doc: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                           "machine": report.machine(), "options": {"reps": reps, "changes": changes,
                                                                    "rate_per_minute": rate, "cold": cold,
                                                                    "keep_maven": keep_maven, "phases": phases},
                           "lab_home": str(home), "figures": {}, "errors": []}
    figures: dict[str, Any] = doc["figures"]

    if (bl.src / "lab").exists():
        _say("stopping what is left of an earlier bench lab")
        bl.run("down", *(["--wipe"] if cold else []))
    if cold:
        shutil.rmtree(home, ignore_errors=True)
    _say(f"snapshot of the working tree → {bl.src}")
    bl.snapshot()
    doc["tree"] = bl.snapshot_commit()
    lab = bl.lab()
    sampler = MemorySampler(home, lambda: {c.name: pid for c in lab.all if (pid := c.pid())})
    sampler.start()
    t_start = time.monotonic()
    try:
        if cold:
            sampler.phase = "cold up"
            _say("cold `lab up` (fresh LAB_HOME, empty jar cache"
                 + (")" if keep_maven else ", empty Maven repository)") + " …")
            figures["up_cold"] = measure.cold_up(bl).as_dict()
            figures["up_cold"]["what"] = ("fresh LAB_HOME and jar cache, ~/.m2 kept" if keep_maven else
                                          "fresh LAB_HOME, jar cache and Maven repository (jars from Maven "
                                          "Central); PostgreSQL, Java, Maven and the venv already installed")
        elif not (home / "pg" / "oltp" / "PG_VERSION").exists():
            sampler.phase = "first up"
            _say("first `lab up` of this LAB_HOME (seeds the databases; jars cached) …")
            first = measure.cold_up(bl).as_dict()
            first["what"] = "fresh LAB_HOME, jars cached (not the cold figure: --cold measures that)"
            figures["up_fresh_home"] = first
        if "up" in phases:
            sampler.phase = "warm up"
            _say(f"warm `lab up` from stopped, ×{reps} …")
            figures["up_warm"] = measure.warm_up(bl, reps).as_dict()
        else:
            bl.run_ok("up")
        if "latency" in phases:
            sampler.phase = "latency"
            _say(f"change latency: orders service at {rate:g}/min until {changes} changes …")
            figures["latency"] = asdict(measure.latency(bl, changes, rate))
        if "reset" in phases:
            sampler.phase = "reset"
            _say(f"`lab reset` from a modified lab, ×{reps} …")
            figures["reset"] = measure.reset(bl, reps).as_dict()
        if "check" in phases:
            sampler.phase = "check"
            _say(f"`lab check` with the live probe, ×{reps} …")
            figures["check"] = measure.check(bl, reps).as_dict()
    except (BenchError, Exception) as exc:  # noqa: BLE001 - report what was measured, then the failure
        doc["errors"].append(f"{type(exc).__name__}: {exc}")
        console.print(f"[bold red]bench step failed:[/] {exc}")
        if not isinstance(exc, BenchError):
            traceback.print_exc()
    finally:
        sampler.stop()
        if not keep_up:
            _say("bringing the bench lab down")
            down = bl.run("down")
            if not down.ok:
                doc["errors"].append(f"`lab down` exited {down.returncode}: {down.last_line}")
            elif cold:  # the cold run's private jar cache and Maven repository (~350 MB) are not needed again
                for cache in (home / "cold-cache", home / "cold-m2"):
                    shutil.rmtree(cache, ignore_errors=True)
    figures["memory"] = _memory(sampler)
    doc["seconds"] = round(time.monotonic() - t_start, 1)
    doc["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    rows = report.judge(figures)
    doc["bars"] = rows
    doc["bars_missed"] = [r["key"] for r in rows if r["met"] is False]
    doc["markdown"] = report.markdown(rows)
    report.write_json(out, doc)
    stamped = out.parent / f"{doc['started_at'].replace(':', '')}.json"
    shutil.copyfile(out, stamped)
    console.print()
    report.render(rows, doc["machine"], console)
    console.print(f"[dim]JSON: {out} · tree {doc['tree']} · {doc['seconds']:.0f} s[/]")
    if doc["errors"]:
        console.print("[bold red]the bench did not complete:[/] " + " | ".join(doc["errors"])[:600])
        sys.exit(2)
    sys.exit(1 if doc["bars_missed"] else 0)


def _memory(sampler: MemorySampler) -> dict[str, Any]:
    peak, peak_pss = sampler.peak, sampler.peak_pss
    if peak is None:
        return {"status": "not measured (no sample)"}
    return {"peak_rss_bytes": peak.rss, "peak_pss_bytes": peak_pss.pss if peak_pss else None,
            "processes_at_peak": peak.processes, "phase_at_peak": peak.phase,
            "by_component_at_peak_mib": {k: round(v / 2**20) for k, v in sorted(peak.by_component.items())},
            "peak_rss_by_phase_mib": {k: round(v / 2**20) for k, v in sampler.peaks_by_phase.items()},
            "samples": sampler.samples}


if __name__ == "__main__":
    main()
