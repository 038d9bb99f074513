"""The console report of `lab check` and `lab grade`: one line per criterion, then the verdict."""

from __future__ import annotations

from rich.markup import escape

from checks.outcome import Report, Status
from lab import ui
from lab.clock import fmt_duration

_MARK = {Status.PASS: "[green]PASS[/]", Status.FAIL: "[red]FAIL[/]", Status.ERROR: "[yellow]ERROR[/]",
         Status.SKIP: "[dim]SKIP[/]"}


def header(project: str, mode: str) -> None:
    verb = "lab grade" if mode == "grade" else "lab check"
    ui.info(f"[bold]{verb}[/] — {escape(project)}: models built by lab_transformer into a schema of the "
            "checker's own, tests run by lab_tester, then a live probe")


def report(rep: Report) -> None:
    ui.info("")
    for c in rep.criteria:
        if c.required:
            ui.info(f"{_MARK[c.status]}  {escape(c.label)} — {escape(c.message)}")
        else:
            mark = "[dim]SKIP[/]" if c.status is Status.SKIP else \
                f"[{'green' if c.status is Status.PASS else 'yellow'}]{c.score:g}/{c.max_score:g}[/]"
            ui.info(f"{mark}  {escape(c.title)} — {escape(c.message)}")
    ui.info("")
    lab = rep.lab
    if rep.mode == "check":
        ttf = fmt_duration(lab.get("time_to_fix_s"))
        ui.info(f"time to fix: {ttf} on the lab clock · hints used: {lab.get('hints_used', 0)}"
                + (f" · variant seed {lab['variant_seed']}" if lab.get("variant_seed") is not None else ""))
    elif lab.get("time_to_fix_s") is not None:
        ui.info(f"time to fix: {fmt_duration(lab['time_to_fix_s'])} ({lab.get('time_to_fix_source')}) · "
                f"hints used: {lab.get('hints_used')}")
    status = rep.status
    if status is Status.PASS:
        ui.info("[bold green]RESULT: PASS[/] — a real fix: the tile matches the ERP and keeps matching it.")
    elif status is Status.FAIL:
        first = rep.first_failure
        where = f"criterion {first.number}: {escape(first.message)}" if first else ""
        ui.info(f"[bold red]RESULT: FAIL[/] — {where}")
    else:
        why = rep.error or next((c.message for c in rep.criteria if c.status is Status.ERROR), "")
        ui.info(f"[bold yellow]RESULT: ERROR[/] — the lab could not judge (not your fault): {escape(why)}")
