"""The bars of LAB_SPEC §7, each figure judged against its bar, as a table and as JSON."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

GIB = 1024**3
REPEATED = ("up_warm", "reset", "check")


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    limit: float | None  # None: reported, not gated
    unit: str
    aim: float | None = None

    def text(self) -> str:
        if self.limit is None:
            return "reported"
        limit = f"≤ {self.limit:g} {self.unit}"
        return limit + (f" (aim {self.aim:g})" if self.aim is not None else "")


BARS = [
    Bar("up_warm", "warm `lab up`, stopped → incident-ready", 60, "s", aim=30),
    Bar("reset", "`lab reset`, modified → pristine", 15, "s"),
    Bar("check", "`lab check` incl. live probe", 60, "s"),
    Bar("latency_p50", "change latency OLTP commit → warehouse, p50", 1, "s"),
    Bar("latency_p99", "change latency OLTP commit → warehouse, p99", 3, "s"),
    Bar("memory", "peak resident memory, all lab processes", 2.5, "GiB"),
    Bar("up_cold", "cold `lab up` on a fresh machine", None, "s"),
    Bar("up_fresh_home", "first `lab up` of a new LAB_HOME (jars cached)", None, "s"),
]


def judge(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per bar: the figure (median of repetitions where repeated) and whether the bar is met."""
    rows = []
    for bar in BARS:
        fig = figures.get("latency" if bar.key.startswith("latency") else bar.key)
        row: dict[str, Any] = {"key": bar.key, "label": bar.label, "bar": bar.text(), "limit": bar.limit,
                               "unit": bar.unit, "value": None, "spread": "", "met": None, "note": ""}
        if fig is None and bar.limit is None:
            continue  # an informational figure this run did not measure
        if fig is None:
            row["note"] = "not run (see options)"
        elif bar.key.startswith("latency"):
            value = fig.get("p50" if bar.key.endswith("p50") else "p99")
            row["value"] = value
            if value is None:
                row["note"] = fig.get("status", "not measured")
            else:
                row["spread"] = (f"{fig['changes']} changes at {fig['rate_per_s']}/s; min {fig['min']}, "
                                 f"p90 {fig['p90']}, max {fig['max']}")
        elif bar.key == "memory":
            row["value"] = round(fig["peak_rss_bytes"] / GIB, 2) if fig.get("peak_rss_bytes") else None
            if fig.get("peak_pss_bytes"):
                row["spread"] = (f"PSS {fig['peak_pss_bytes'] / GIB:.2f} GiB; {fig['processes_at_peak']} "
                                 f"processes; peak during {fig['phase_at_peak']}")
        else:
            if fig.get("samples"):
                row["value"] = fig["median"]
                row["spread"] = f"min {fig['min']}, max {fig['max']} (n={len(fig['samples'])})"
            else:
                row["note"] = fig.get("status", "not measured")
        if row["value"] is not None and bar.limit is not None:
            row["met"] = row["value"] <= bar.limit
            if row["met"] and bar.key in REPEATED and fig.get("max", 0) > bar.limit:
                row["note"] = f"median under the bar, worst repetition {fig['max']} s over it"
        notes = fig.get("notes") if isinstance(fig, dict) else None
        if notes:
            row["note"] = "; ".join(filter(None, [row["note"], *sorted(set(notes))]))[:300]
        rows.append(row)
    return rows


def render(rows: list[dict[str, Any]], machine: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    table = Table(title=f"LAB_SPEC §7 on {machine['summary']}", title_justify="left")
    for col in ("figure", "bar", "measured", "spread", "verdict"):
        table.add_column(col, overflow="fold")
    for row in rows:
        if row["value"] is None:
            measured = row["note"] or "not measured"
            verdict = "[yellow]—[/]"
        else:
            measured = f"{row['value']:g} {row['unit']}" + (" (median)" if row["key"] in REPEATED else "")
            verdict = ("[dim]info[/]" if row["met"] is None else "[green]met[/]" if row["met"]
                       else "[bold red]MISSED[/]")
        spread = row["spread"] + (f"\n[yellow]{row['note']}[/]" if row["note"] and row["value"] is not None
                                  else "")
        table.add_row(row["label"], row["bar"], measured, spread, verdict)
    console.print(table)
    missed = [r["label"] for r in rows if r["met"] is False]
    unmeasured = [r["label"] for r in rows if r["limit"] is not None and r["value"] is None]
    if missed:
        console.print("[bold red]bars missed:[/] " + "; ".join(missed))
    else:
        console.print("[green]no bar missed[/]" + (" among those measured" if unmeasured else ""))
    if unmeasured:
        console.print("[yellow]not measured:[/] " + "; ".join(unmeasured))


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| figure | bar | measured | spread | verdict |", "|---|---|---|---|---|"]
    for row in rows:
        if row["value"] is None:
            measured, verdict = row["note"] or "not measured", "—"
        else:
            measured = f"{row['value']:g} {row['unit']}"
            verdict = "info" if row["met"] is None else "met" if row["met"] else "**missed**"
        lines.append(f"| {row['label']} | {row['bar']} | {measured} | {row['spread']} | {verdict} |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text()).group(1).strip()  # type: ignore[union-attr]
    except (OSError, AttributeError):
        cpu = platform.processor()
    mem = psutil.virtual_memory().total
    java = shutil.which("java")
    java_v = ""
    if java:
        out = subprocess.run([java, "-version"], capture_output=True, text=True)
        java_v = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else ""
    pg_v = ""
    try:
        from lab.components.postgres import find_bindir

        pg_v = subprocess.run([str(find_bindir() / "postgres"), "--version"], capture_output=True,
                              text=True).stdout.strip()
    except Exception:  # noqa: BLE001 - informational only
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / GIB, 1),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "java": java_v, "postgres": pg_v, "load_at_start": [round(x, 2) for x in os.getloadavg()]}
    info["summary"] = f"{info['cores']} cores ({cpu}), {info['memory_gib']} GiB, {info['os']}"
    return info


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
