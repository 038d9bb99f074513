"""The story clock as the learner reads it (the facts themselves live in seed/story.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from seed.story import BOARD_MEETING, Q2_START, STORY_CLOCK, story_now
from seed.story import Q3_START as Q2_END

STORY_START = STORY_CLOCK
__all__ = ["BOARD_MEETING", "Q2_END", "Q2_START", "STORY_START", "fmt_duration", "fmt_remaining", "remaining",
           "story_now"]


def remaining(started_at: datetime, now: datetime | None = None) -> timedelta:
    return BOARD_MEETING - story_now(started_at, now)


def fmt_remaining(started_at: datetime, now: datetime | None = None) -> str:
    left = remaining(started_at, now)
    secs = int(left.total_seconds())
    if secs <= 0:
        return f"the board meeting started {(-secs) // 60} min ago"
    return f"{secs // 60:02d}:{secs % 60:02d} left before the board meeting"


def fmt_duration(seconds: float | None, missing: str = "unknown") -> str:
    """A time to detect or to fix as learners, reports and the roll-up all write it: 42 s, 6 min 12 s, 1 h 48 min."""
    if seconds is None:
        return missing
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
