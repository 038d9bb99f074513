"""The incident's fixed facts: the story clock, the key dates and the default seed's headline figures.

All timestamps are UTC. Everything else in the seed data is derived from these and a seed number.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

UTC = UTC

DEFAULT_SEED = 516

# "Now" in the story: Friday 2026-06-26 08:47 UTC, thirteen minutes before the board meeting. The story
# clock starts there when the learner lands in the incident and then runs at real speed.
STORY_CLOCK = datetime(2026, 6, 26, 8, 47, tzinfo=UTC)
BOARD_MEETING = datetime(2026, 6, 26, 9, 0, tzinfo=UTC)

# The shop opened on 2026-01-01; the last seeded order is a few minutes before the story clock.
FIRST_ORDER_AT = datetime(2026, 1, 1, tzinfo=UTC)
LAST_ORDER_AT = datetime(2026, 6, 26, 8, 40, tzinfo=UTC)

Q2_START = datetime(2026, 4, 1, tzinfo=UTC)
Q3_START = datetime(2026, 7, 1, tzinfo=UTC)
Q2_LABEL = "2026-Q2"

# 2026-04-24: the orders team shipped orders.refunded_at (nothing wrote it yet).
REFUNDED_AT_MIGRATION_VERSION = "20260424_0900_add_orders_refunded_at"

# Refund flow v2 went live at midnight after the Friday-evening deploy: from here on a refund only sets
# orders.refunded_at and leaves status alone. The seeded v2 refunds cover the six days up to 06-25.
V2_REFUNDS_FROM = datetime(2026, 6, 20, tzinfo=UTC)
V2_REFUND_DAYS: tuple[date, ...] = tuple(date(2026, 6, 20) + timedelta(days=i) for i in range(6))

# Headline figures of the default seed.
DEFAULT_TILE_Q2 = Decimal("4206000.00")
DEFAULT_V2_REFUNDS_TOTAL = Decimal("516000.00")
DEFAULT_ERP_Q2_NET = DEFAULT_TILE_Q2 - DEFAULT_V2_REFUNDS_TOTAL  # 3,690,000.00

# The hourly dbt job: 144 successful runs, 2026-06-20 00:00 ... 2026-06-25 23:00.
DBT_HISTORY_FROM = datetime(2026, 6, 20, tzinfo=UTC)
DBT_HISTORY_RUNS = 144

CENT = Decimal("0.01")


def revenue_date(ts: datetime) -> date:
    """The date revenue is recognised on: the order's creation date in UTC."""
    return ts.astimezone(UTC).date()


def quarter_label(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def story_now(started_at: datetime, now: datetime | None = None) -> datetime:
    """The story clock: STORY_CLOCK when the learner's clock started, then real time."""
    return STORY_CLOCK + ((now or datetime.now(UTC)) - started_at)
