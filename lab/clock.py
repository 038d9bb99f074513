"""The story clock as the learner reads it (the facts themselves live in seed/story.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from seed.story import BOARD_MEETING, Q2_START, STORY_CLOCK, story_now
from seed.story import Q3_START as Q2_END

STORY_START = STORY_CLOCK
__all__ = ["BOARD_MEETING", "Q2_END", "Q2_START", "STORY_START", "fmt_remaining", "remaining", "story_now"]


def remaining(started_at: datetime, now: datetime | None = None) -> timedelta:
    return BOARD_MEETING - story_now(started_at, now)


def fmt_remaining(started_at: datetime, now: datetime | None = None) -> str:
    left = remaining(started_at, now)
    secs = int(left.total_seconds())
    if secs <= 0:
        return f"the board meeting started {(-secs) // 60} min ago"
    return f"{secs // 60:02d}:{secs % 60:02d} left before the board meeting"
