"""`lab debrief`: the incident timeline — what the learner did (lab up, hints, edits of dbt_project/, dbt
builds, checks and their verdicts, the first query touching `refunded_at`) beside the pipeline's own events
(components restarted, the scheduler's dbt runs), on the story clock.

The learner's events are recorded by the lab as they happen (lab/session.py `record`); the watcher in the
scheduler (lab/watcher.py) adds edits, the learner's own dbt runs and the first `refunded_at` query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.table import Table

from lab import ui
from lab.stack import Lab
from seed import story

LEARNER = {"up", "hint", "edit", "dbt", "check", "detect", "reset"}


@dataclass
class Entry:
    at: datetime
    who: str  # "you" | "pipeline"
    kind: str
    text: str


@dataclass
class Timeline:
    started_at: datetime | None
    entries: list[Entry]
    facts: dict[str, Any]


def _describe(e: dict[str, Any]) -> str:
    kind = e["kind"]
    if kind == "up":
        return e.get("note") or "lab up"
    if kind == "hint":
        return f"hint {e.get('number')}"
    if kind == "edit":
        files = e.get("files") or []
        shown = ", ".join(files[:3]) + (f" (+{len(files) - 3})" if len(files) > 3 else "")
        return "edited " + (shown or "dbt_project/")
    if kind == "dbt":
        return f"your `dbt {e.get('command', 'build')}`: {e.get('status', '?')}"
    if kind == "check":
        if e.get("phase") == "verdict":
            failed = e.get("failed") or []
            return f"check: {e.get('status', '?').upper()}" + (f" (criteria {failed} failed)" if failed else "")
        return "check started"
    if kind == "detect":
        if e.get("how") == "edit":
            return f"first touch of refunded_at: your edit of {e.get('database')}"
        return f"first query touching refunded_at ({e.get('database')}, as {e.get('user')}): {e.get('query', '')[:70]}"
    if kind == "component":
        return f"{e.get('name')} {e.get('what', 'started')}"
    return kind


def collect(lab: Lab) -> Timeline:
    session = lab.session.read()
    since = session.clock_started_at
    entries: list[Entry] = []
    for e in lab.session.events():
        if since and e["at"] < since:
            continue
        entries.append(Entry(e["at"], "you" if e["kind"] in LEARNER else "pipeline", e["kind"], _describe(e)))
    with lab.warehouse.connect("warehouse") as conn:
        runs = conn.execute("select finished_at, status, models_built, tests_passed, tests_failed, trigger "
                            "from ops.dbt_runs where trigger <> 'history' order by finished_at").fetchall()
    # ops.dbt_runs holds story times (the scheduler's record); they are shown as they are.
    for finished, status, models, passed, failed, trigger in runs:
        at = finished if since is None else since + (finished - story.STORY_CLOCK)
        if since and at < since:
            continue
        entries.append(Entry(at, "pipeline", "dbt-run", f"scheduled dbt run ({trigger}): {status}, {models} models, "
                                                        f"{passed} tests passed, {failed} failed"))
    entries.sort(key=lambda x: x.at)
    facts = facts_of(lab, session, entries)
    return Timeline(since, entries, facts)


def facts_of(lab: Lab, session, entries: list[Entry] | None = None) -> dict[str, Any]:
    """Time to detect, time to fix, attempts and hints, in seconds on the lab clock (None when unknown)."""
    events = lab.session.events()
    since = session.clock_started_at

    def after(e: dict[str, Any]) -> float | None:
        return None if since is None else round((e["at"] - since).total_seconds(), 1)

    detect = next((e for e in events if e["kind"] == "detect" and (since is None or e["at"] >= since)), None)
    verdicts = [e for e in events if e["kind"] == "check" and e.get("phase") == "verdict"
                and (since is None or e["at"] >= since)]
    passed = next((e for e in verdicts if e.get("status") == "pass"), None)
    return {"time_to_detect_s": after(detect) if detect else None,
            "time_to_fix_s": after(passed) if passed else None,
            "attempts": len(verdicts), "hints_used": session.hints_used}


def render(t: Timeline) -> None:
    if t.started_at is None:
        ui.info("the clock has not started: `./lab up` first")
        return
    table = Table(title="The $516k Gap — incident timeline (story time)", title_justify="left")
    for col in ("story time", "who", "what"):
        table.add_column(col)
    for e in t.entries:
        story_at = story.story_now(t.started_at, e.at).strftime("%H:%M:%S")
        table.add_row(story_at, "[bold]you[/]" if e.who == "you" else "[dim]pipeline[/]", e.text)
    ui.console.print(table)
    f = t.facts

    def mmss(x: float | None) -> str:
        return "—" if x is None else f"{int(x) // 60} min {int(x) % 60:02d} s"

    ui.info(f"time to detect: {mmss(f['time_to_detect_s'])} · time to fix: {mmss(f['time_to_fix_s'])} · "
            f"checks: {f['attempts']} · hints: {f['hints_used']}")
