"""Histories that are the same story for every seed: the shop's schema migrations and the hourly dbt job."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from seed.model import DbtRun, Migration
from seed.story import DBT_HISTORY_FROM, DBT_HISTORY_RUNS, REFUNDED_AT_MIGRATION_VERSION, UTC

# What one scheduled `dbt build` of dbt_project/ does: 4 models (stg_customers, stg_orders, fct_orders,
# revenue_quarterly) and 39 tests (36 data tests, of which 3 singular, and 3 unit tests), all passing.
DBT_MODELS_BUILT = 4
DBT_TESTS_PASSED = 39

_MIGRATIONS = (
    ("20251020_1412_create_customers", "create customers", "2025-10-20 14:19:07"),
    ("20251020_1430_create_orders", "create orders", "2025-10-20 14:33:52"),
    ("20251104_1011_add_orders_currency", "add orders.currency char(3) default 'USD'", "2025-11-04 10:16:40"),
    (
        "20251118_1547_add_orders_updated_at",
        "add orders.updated_at, backfilled from created_at",
        "2025-11-18 15:51:13",
    ),
    (
        "20251202_0930_add_orders_status_check",
        "constrain orders.status to pending/paid/shipped/cancelled/refunded",
        "2025-12-02 09:34:28",
    ),
    (
        "20251215_1120_add_customers_country",
        "add customers.country (ISO 3166-1 alpha-2)",
        "2025-12-15 11:24:55",
    ),
    (
        "20260108_1605_add_orders_customer_id_index",
        "index orders.customer_id for the account pages",
        "2026-01-08 16:09:31",
    ),
    (
        "20260129_1033_add_orders_created_at_index",
        "index orders.created_at for the reporting export",
        "2026-01-29 10:38:02",
    ),
    (
        "20260217_1418_add_orders_status_created_at_index",
        "index orders (status, created_at) for the fulfilment queue",
        "2026-02-17 14:22:46",
    ),
    (
        REFUNDED_AT_MIGRATION_VERSION,
        "add orders.refunded_at timestamptz null, for the refund flow rework",
        "2026-04-24 09:04:18",
    ),
)


def migrations() -> list[Migration]:
    return [
        Migration(version, description, datetime.fromisoformat(applied).replace(tzinfo=UTC))
        for version, description, applied in _MIGRATIONS
    ]


def dbt_runs(rng: random.Random) -> list[DbtRun]:
    """144 hourly scheduled builds, 2026-06-20 00:00 ... 2026-06-25 23:00 UTC, every one green."""
    runs = []
    for hour in range(DBT_HISTORY_RUNS):
        started = DBT_HISTORY_FROM + timedelta(hours=hour, microseconds=rng.randrange(2_000_000, 9_000_000))
        took = timedelta(microseconds=rng.randrange(14_000_000, 27_000_000) + hour * 15_000)
        runs.append(
            DbtRun(
                started_at=started,
                finished_at=started + took,
                status="success",
                models_built=DBT_MODELS_BUILT,
                tests_passed=DBT_TESTS_PASSED,
                tests_failed=0,
                trigger="schedule",
            )
        )
    return runs
