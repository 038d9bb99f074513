"""The story clock: Friday 2026-06-26 08:47 UTC at the first `lab up`, then running at real speed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

STORY_START = datetime(2026, 6, 26, 8, 47, tzinfo=UTC)
BOARD_MEETING = datetime(2026, 6, 26, 9, 0, tzinfo=UTC)
Q2_START = datetime(2026, 4, 1, tzinfo=UTC)
Q2_END = datetime(2026, 7, 1, tzinfo=UTC)


def story_now(started_at: datetime, now: datetime | None = None) -> datetime:
    return STORY_START + ((now or datetime.now(UTC)) - started_at)


def remaining(started_at: datetime, now: datetime | None = None) -> timedelta:
    return BOARD_MEETING - story_now(started_at, now)


def fmt_remaining(started_at: datetime, now: datetime | None = None) -> str:
    left = remaining(started_at, now)
    secs = int(left.total_seconds())
    if secs <= 0:
        return f"the board meeting started {(-secs) // 60} min ago"
    return f"{secs // 60:02d}:{secs % 60:02d} left before the board meeting"
