"""The learner's session as a check reports it: the variant, the clock (time to fix), hints, a first success."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from lab import api
from lab.api import Lab


def session(lab: Lab) -> dict[str, Any]:
    """Seed, time since the clock started (the time to fix, if this check passes), hints used, and an
    earlier success if there was one."""
    out: dict[str, Any] = {"variant_seed": None, "time_to_fix_s": None, "hints_used": None, "solved": None,
                           "clock_started_at": None, "story_time": None, "time_to_detect_s": None, "attempts": None}
    try:
        s = api.session(lab)
    except psycopg.Error:
        return out
    out.update({"variant_seed": s.seed, "hints_used": s.hints_used, "solved": s.solved})
    facts = api.incident_facts(lab)
    # This check is one more attempt; its own verdict is not in the timeline yet.
    out.update({"time_to_detect_s": facts["time_to_detect_s"], "attempts": facts["attempts"] + 1})
    if s.clock_started_at:
        out["clock_started_at"] = s.clock_started_at.isoformat()
        out["time_to_fix_s"] = s.elapsed_s(datetime.now(UTC))
        out["story_time"] = s.story_now().isoformat()
    return out


def record_solved(lab: Lab, facts: dict[str, Any]) -> None:
    """Keep the first success only: the time to fix is the time to the first passing check."""
    api.record_solved(lab, facts)

