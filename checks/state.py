"""The learner's session as the lab records it: the clock, the hints used, and a first success."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from lab import bootstrap, clock
from lab.stack import Lab


def session(lab: Lab) -> dict[str, Any]:
    """Seed, time since the clock started (the time to fix, if this check passes), hints used, and an
    earlier success if there was one."""
    out: dict[str, Any] = {"variant_seed": None, "time_to_fix_s": None, "hints_used": None, "solved": None,
                           "clock_started_at": None, "story_time": None}
    try:
        with lab.warehouse.connect("warehouse") as conn:
            out["variant_seed"] = bootstrap.get_state(conn, "seed")
            out["hints_used"] = (bootstrap.get_state(conn, "hints") or {}).get("used", 0)
            out["solved"] = bootstrap.get_state(conn, "solved")
            started = bootstrap.get_state(conn, "clock")
    except psycopg.Error:
        return out
    if started:
        at = datetime.fromisoformat(started["started_at"])
        out["clock_started_at"] = at.isoformat()
        out["time_to_fix_s"] = round((datetime.now(UTC) - at).total_seconds(), 1)
        out["story_time"] = clock.story_now(at).isoformat()
    return out


def record_solved(lab: Lab, facts: dict[str, Any]) -> None:
    """Keep the first success only: the time to fix is the time to the first passing check."""
    with lab.warehouse.connect("warehouse") as conn:
        if bootstrap.get_state(conn, "solved") is None:
            bootstrap.set_state(conn, "solved", {**facts, "at": datetime.now(UTC).isoformat()})


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    s = int(seconds)
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"
