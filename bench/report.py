"""The bars of LAB_SPEC §7 (and issues 8, 9, 10), each figure judged against its bar per runtime: one table
with a column per runtime, as text and as Markdown, and the JSON document."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

GIB = 1024**3
RUNTIMES = ("native", "docker")


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    unit: str
    limit: dict[str, float] = field(default_factory=dict)  # per runtime, judged on the median; {}: reported
    cap: dict[str, float] = field(default_factory=dict)  # per runtime, judged on every repetition
    aim: float | None = None
    source: str = ""  # where the bar comes from

    def text(self, runtime: str) -> str:
        if runtime not in self.limit:
            return "reported"
        out = f"≤ {self.limit[runtime]:g} {self.unit}"
        if runtime in self.cap:
            out += f" median, each ≤ {self.cap[runtime]:g} {self.unit}"
        if self.aim is not None:
            out += f" (aim {self.aim:g})"
        return out


BARS = [
    Bar("up_warm", "warm `lab up`, stopped → incident-ready", "s", {"native": 60, "docker": 30}, source="§7, issue 8"),
    Bar("up_cold", "cold `lab up`: fresh home (docker: new volumes; images built)", "s"),
    Bar("up_caches_cold", "`lab up` with cold caches (native: jars from Maven Central; docker: images rebuilt)", "s"),
    Bar("reset", "`lab reset`, modified → pristine", "s", {"native": 15, "docker": 15}, aim=5, source="§7, issue 10"),
    Bar("check", "`lab check` of the reference fix, live probe included", "s", {"native": 20, "docker": 60},
        cap={"native": 60}, source="§7; issue 9: median ≤ 20 s native"),
    Bar("latency_p50", "change latency OLTP commit → warehouse, p50 (workspace page open)", "s",
        {"native": 1, "docker": 1}, source="§7, issue 9"),
    Bar("latency_p99", "change latency OLTP commit → warehouse, p99 (workspace page open)", "s",
        {"native": 3, "docker": 3}, source="§7, issue 9"),
    Bar("memory", "peak resident memory, whole stack (docker: with the engine)", "GiB", {"native": 2.5, "docker": 3},
        source="§7, issue 8"),
    Bar("workspace_rss", "workspace RSS, page open while a check streams", "MiB", {"native": 100, "docker": 100},
        source="§7, issue 9"),
    Bar("workspace_check", "check started by the workspace's Ship button (page open)", "s"),
]
REPEATED = ("up_warm", "reset", "check")


def _cell(bar: Bar, runtime: str, figures: dict[str, Any]) -> dict[str, Any]:
    """value (None when not measured), spread, note, met (None: not judged)."""
    key = {"latency_p50": "latency", "latency_p99": "latency", "workspace_rss": "workspace",
           "workspace_check": "workspace"}.get(bar.key, bar.key)
    fig = figures.get(key)
    cell: dict[str, Any] = {"value": None, "spread": "", "note": "", "met": None}
    if fig is None:
        cell["note"] = "not run (see options)" if bar.limit else ""
        return cell
    status = fig.get("status", "measured")
    if status != "measured" and not status.startswith("measured"):
        cell["note"] = status
        return cell
    if bar.key.startswith("latency"):
        cell["value"] = fig.get("p50" if bar.key.endswith("p50") else "p99")
        cell["spread"] = (f"{fig['changes']} changes at {fig['rate_per_s']}/s; min {fig['min']}, p90 {fig['p90']}, "
                          f"max {fig['max']}" if cell["value"] is not None else "")
        if bar.key.endswith("p50"):
            cell["note"] = "page " + fig.get("page", "") if fig.get("page") else ""
    elif bar.key == "memory":
        cell["value"] = round(fig["peak_rss_bytes"] / GIB, 2) if fig.get("peak_rss_bytes") else None
        if fig.get("peak_pss_bytes"):
            cell["spread"] = (f"PSS {fig['peak_pss_bytes'] / GIB:.2f} GiB; {fig['processes_at_peak']} processes; "
                              f"peak during {fig['phase_at_peak']}")
        engine = sum(v for k, v in (fig.get("by_component_at_peak_mib") or {}).items() if k.startswith("engine"))
        if engine:
            cell["spread"] += f"; engine {engine} MiB of it"
    elif bar.key == "workspace_rss":
        cell["value"] = fig.get("peak_rss_mib")
        cell["spread"] = (f"{fig.get('samples')} samples; the check's own processes "
                          f"{fig.get('check_processes_peak_rss_mib')} MiB (not the workspace's)")
    elif bar.key == "workspace_check":
        cell["value"] = fig.get("check_s")
        cell["spread"] = (f"verdict {fig.get('verdict')}; {fig.get('criteria_streamed')} criteria streamed; "
                          f"pressed: {fig.get('pressed')}")
    elif fig.get("samples"):
        cell["value"] = fig["median"]
        n = len(fig["samples"])
        cell["spread"] = f"min {fig['min']}, max {fig['max']} (n={n})" if n > 1 else ""
        if bar.key == "up_caches_cold" and fig.get("build_s") is not None:
            cell["spread"] = f"images built in {fig['build_s']} s, then `lab up` {fig['up_s']} s"
    else:
        cell["note"] = status
    if cell["value"] is not None and runtime in bar.limit:
        cell["met"] = cell["value"] <= bar.limit[runtime]
        if runtime in bar.cap and fig.get("max", 0) > bar.cap[runtime]:
            cell["met"] = False
            cell["note"] = f"worst repetition {fig['max']} s over {bar.cap[runtime]:g} s"
        elif cell["met"] and bar.key in REPEATED and fig.get("max", 0) > bar.limit[runtime]:
            cell["note"] = f"median under the bar, worst repetition {fig['max']} s over it"
    notes = fig.get("notes")
    if notes:
        cell["note"] = "; ".join(filter(None, [cell["note"], *sorted(set(notes))]))[:300]
    return cell


def judge(runs: dict[str, dict[str, Any]], fleet: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per figure with a cell per runtime: runs[runtime] = {"status": …, "figures": {…}}."""
    rows = []
    for bar in BARS:
        row: dict[str, Any] = {"key": bar.key, "label": bar.label, "unit": bar.unit, "cells": {}, "bars": {}}
        for runtime in RUNTIMES:
            run = runs.get(runtime)
            row["bars"][runtime] = bar.text(runtime)
            if run is None:
                row["cells"][runtime] = {"value": None, "spread": "", "note": "not run (--runtime)", "met": None}
            elif run.get("status", "measured") != "measured":
                row["cells"][runtime] = {"value": None, "spread": "", "note": run["status"], "met": None}
            else:
                row["cells"][runtime] = _cell(bar, runtime, run.get("figures", {}))
        if not bar.limit and all(c["value"] is None and not c["note"].startswith("failed")
                                 for c in row["cells"].values()):
            continue  # an informational figure this run did not measure
        rows.append(row)
        if bar.key == "check":
            rows.extend(_breakdown(runs))
    rows.extend(_fleet_rows(fleet))
    return rows


def _breakdown(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Where `lab check` spends its time: report.json `lab.timings`, median per step over the repetitions."""
    per: dict[str, dict[str, float]] = {}
    for runtime, run in runs.items():
        for step, seconds in (((run.get("figures") or {}).get("check") or {}).get("breakdown_median_s") or {}).items():
            per.setdefault(step, {})[runtime] = seconds
    rows = []
    for step, by_runtime in per.items():
        rows.append({"key": f"check.{step}", "label": f"  ↳ check step `{step}` (median)", "unit": "s",
                     "bars": {r: "" for r in RUNTIMES},
                     "cells": {r: {"value": by_runtime.get(r), "spread": "", "note": "" if r in by_runtime else "—",
                                   "met": None} for r in RUNTIMES}})
    return rows


def _fleet_rows(fleet: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not fleet:
        return []

    def row(key: str, label: str, unit: str, value: Any, spread: str = "", note: str = "") -> dict[str, Any]:
        return {"key": key, "label": label, "unit": unit, "bars": {"native": "reported", "docker": ""},
                "cells": {"native": {"value": value, "spread": spread, "note": note, "met": None},
                          "docker": {"value": None, "spread": "", "note": "—", "met": None}}}

    n = fleet.get("labs")
    if fleet.get("status", "measured") != "measured":
        return [row("fleet_reset", f"`lab fleet reset` of {n} native labs at once", "s", None,
                    note=fleet["status"])]
    each = fleet.get("reset_each_s") or {}
    rows = [row("fleet_up", f"`lab fleet up` of {n} native labs at once (fresh homes: seeded)", "s",
                fleet.get("up_wall_s"), ", ".join(f"{k} {v:.1f}" for k, v in (fleet.get("up_each_s") or {}).items())),
            row("fleet_reset", f"`lab fleet reset` of {n} native labs at once, until all pristine", "s",
                fleet.get("reset_wall_s"), "each: " + ", ".join(f"{k} {v:.1f} s" for k, v in each.items()),
                "" if fleet.get("pristine") else "; ".join(fleet.get("notes") or ["not all pristine"]))]
    mem = fleet.get("memory") or {}
    if mem.get("peak_rss_bytes"):
        rows.append(row("fleet_memory", f"peak resident memory of the {n} labs", "GiB",
                        round(mem["peak_rss_bytes"] / GIB, 2),
                        f"{mem['peak_rss_bytes'] / GIB / n:.2f} GiB a lab; peak during {mem.get('phase_at_peak')}"))
    return rows


def _fmt(cell: dict[str, Any], unit: str, rich: bool) -> str:
    if cell["value"] is None:
        return cell["note"] or "not measured"
    text = f"{cell['value']:g} {unit}"
    if cell["met"] is True:
        text += " [green]✓[/]" if rich else " ✓"
    elif cell["met"] is False:
        text += " [bold red]MISSED[/]" if rich else " **MISSED**"
    return text


def render(rows: list[dict[str, Any]], machine: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    table = Table(title=f"LAB_SPEC §7 on {machine['summary']} — load at start {machine['load_at_start']}",
                  title_justify="left", show_lines=True)
    table.add_column("figure", overflow="fold", max_width=44)
    table.add_column("bar (native / docker)", overflow="fold", max_width=26)
    for runtime in RUNTIMES:
        table.add_column(runtime, overflow="fold", max_width=48)
    for row in rows:
        bars = " / ".join(dict.fromkeys(b for b in row["bars"].values() if b)) or ""
        cells = []
        for runtime in RUNTIMES:
            cell = row["cells"][runtime]
            text = _fmt(cell, row["unit"], rich=True)
            extra = "; ".join(filter(None, [cell["spread"], cell["note"] if cell["value"] is not None else ""]))
            cells.append(text + (f"\n[dim]{extra}[/]" if extra else ""))
        table.add_row(row["label"], bars, *cells)
    console.print(table)
    missed = [f"{r['label']} ({rt})" for r in rows for rt, c in r["cells"].items() if c["met"] is False]
    console.print("[bold red]bars missed:[/] " + "; ".join(missed) if missed else "[green]no bar missed[/] "
                  "among those measured")


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| figure | bar (native / docker) | native | docker |", "|---|---|---|---|"]
    for row in rows:
        bars = " / ".join(dict.fromkeys(b for b in row["bars"].values() if b))
        cells = []
        for runtime in RUNTIMES:
            cell = row["cells"][runtime]
            extra = "; ".join(filter(None, [cell["spread"], cell["note"] if cell["value"] is not None else ""]))
            cells.append(_fmt(cell, row["unit"], rich=False) + (f"<br>{extra}" if extra else ""))
        lines.append(f"| {row['label']} | {bars} | " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def missed(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{r['key']}:{rt}" for r in rows for rt, c in r["cells"].items() if c["met"] is False]


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text()).group(1).strip()  # type: ignore[union-attr]
    except (OSError, AttributeError):
        cpu = platform.processor()
    mem = psutil.virtual_memory()
    java = shutil.which("java")
    java_v = ""
    if java:
        out = subprocess.run([java, "-version"], capture_output=True, text=True)
        java_v = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else ""
    pg_v = docker_v = ""
    try:
        from lab.platform import find_postgres

        pg_v = subprocess.run([str(find_postgres().path / "postgres"), "--version"], capture_output=True,
                              text=True).stdout.strip()
    except Exception:  # noqa: BLE001 - informational only
        pass
    if shutil.which("docker"):
        out = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
        docker_v = out.stdout.strip() if out.returncode == 0 else ""
    info = {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem.total / GIB, 1),
            "available_gib_at_start": round(mem.available / GIB, 1),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "java": java_v, "postgres": pg_v, "docker_engine": docker_v,
            "load_at_start": [round(x, 2) for x in os.getloadavg()]}
    info["summary"] = f"{info['cores']} cores ({cpu}), {info['memory_gib']} GiB, {info['os']}"
    return info


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
