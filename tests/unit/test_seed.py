"""The seed generator tells the incident's story exactly, deterministically and plausibly (no servers)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache

import pytest

from seed import __main__ as cli
from seed import events, history, load
from seed.generate import DEFAULT_SEED, generate
from seed.model import Dataset
from seed.story import (
    FIRST_ORDER_AT,
    LAST_ORDER_AT,
    Q2_START,
    Q3_START,
    REFUNDED_AT_MIGRATION_VERSION,
    STORY_CLOCK,
    V2_REFUND_DAYS,
    V2_REFUNDS_FROM,
)

pytestmark = pytest.mark.unit

UTC = UTC
OTHER_SEEDS = (1, 2)
V2_DAYS = [date(2026, 6, 20) + timedelta(days=i) for i in range(6)]
# Pinned figures of two variant seeds: a change here means every learner's variant changed.
PINNED = {
    1: {"tile_q2": Decimal("3898427.20"), "v2_refunds_total": Decimal("523883.89")},
    2: {"tile_q2": Decimal("4589616.03"), "v2_refunds_total": Decimal("519913.50")},
}


@cache
def dataset(seed: int = DEFAULT_SEED) -> Dataset:
    return generate(seed)


def in_q2(ts: datetime) -> bool:
    return Q2_START <= ts < Q3_START


def test_default_seed_is_516() -> None:
    assert DEFAULT_SEED == 516


# -- the headline figures ----------------------------------------------------------------------------


def test_default_seed_headline_figures_are_exact() -> None:
    f = dataset().figures
    assert f.erp_q2_net == Decimal("3690000.00")
    assert f.tile_q2 == Decimal("4206000.00")
    assert f.v2_refunds_total == Decimal("516000.00")
    assert f.gap == Decimal("516000.00")
    assert f.tile_q2 == f.q2_gross - f.q2_cancelled - f.q2_refunded_old_flow


def test_default_seed_v2_refunds_are_six_distinct_days_of_about_86k() -> None:
    by_day = dataset().figures.v2_refunds_by_day
    assert list(by_day) == V2_DAYS == list(V2_REFUND_DAYS)
    assert sum(by_day.values()) == Decimal("516000.00")
    assert len(set(by_day.values())) == 6
    assert all(Decimal(80_000) <= amount <= Decimal(92_000) for amount in by_day.values())
    assert all(amount == amount.quantize(Decimal("0.01")) for amount in by_day.values())


@pytest.mark.parametrize("seed", OTHER_SEEDS)
def test_other_seeds_keep_the_story_with_other_figures(seed: int) -> None:
    f = dataset(seed).figures
    default = dataset().figures
    assert f.tile_q2 == PINNED[seed]["tile_q2"]
    assert f.v2_refunds_total == PINNED[seed]["v2_refunds_total"]
    assert f.erp_q2_net == f.tile_q2 - f.v2_refunds_total
    assert Decimal("0.9") * default.tile_q2 <= f.tile_q2 <= Decimal("1.1") * default.tile_q2
    assert f.tile_q2 != default.tile_q2
    assert list(f.v2_refunds_by_day) == V2_DAYS
    assert len(set(f.v2_refunds_by_day.values())) == 6
    assert all(Decimal(70_000) <= v <= Decimal(100_000) for v in f.v2_refunds_by_day.values())


@pytest.mark.parametrize("seed", (DEFAULT_SEED, *OTHER_SEEDS))
def test_figures_follow_from_the_rows(seed: int) -> None:
    """Recompute every figure from the orders and the ledger, independently of the generator."""
    ds = dataset(seed)
    q2 = [o for o in ds.orders if in_q2(o.created_at)]
    gross = sum(o.amount for o in q2)
    cancelled = sum(o.amount for o in q2 if o.status == "cancelled")
    old_refunds = sum(o.amount for o in q2 if o.status == "refunded")
    v2 = sum(o.amount for o in ds.orders if o.refunded_at is not None)
    erp = sum(e.amount for e in ds.ledger if date(2026, 4, 1) <= e.revenue_date < date(2026, 7, 1))
    # what the defective mart computes: revenue decided from status alone
    tile = sum(o.amount for o in q2 if o.status not in ("cancelled", "refunded"))
    # what a correct mart computes: refunds of either flow excluded
    fixed = sum(o.amount for o in q2 if o.status not in ("cancelled", "refunded") and o.refunded_at is None)
    f = ds.figures
    assert (f.q2_gross, f.q2_cancelled, f.q2_refunded_old_flow) == (gross, cancelled, old_refunds)
    assert (f.tile_q2, f.v2_refunds_total, f.erp_q2_net) == (tile, v2, erp)
    assert fixed == erp == tile - v2


# -- determinism -------------------------------------------------------------------------------------


def test_generation_is_deterministic() -> None:
    assert generate(DEFAULT_SEED) == dataset()
    assert generate(OTHER_SEEDS[0]) == dataset(OTHER_SEEDS[0])


def test_seeds_change_amounts_ids_and_splits() -> None:
    a, b = dataset(), dataset(OTHER_SEEDS[0])
    assert a.orders[:50] != b.orders[:50]
    assert {o.order_id for o in a.orders if o.refunded_at} != {o.order_id for o in b.orders if o.refunded_at}
    assert a.figures.v2_refunds_by_day != b.figures.v2_refunds_by_day


# -- realism -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", (DEFAULT_SEED, *OTHER_SEEDS))
def test_sizes_and_rates(seed: int) -> None:
    ds = dataset(seed)
    n = len(ds.orders)
    assert 1_500 <= len(ds.customers) <= 3_000
    assert 12_000 <= n < 20_000
    statuses = Counter(o.status for o in ds.orders)
    assert 0.02 <= statuses["refunded"] / n <= 0.04
    assert 0.02 <= statuses["cancelled"] / n <= 0.03
    assert statuses["pending"] > 0 and statuses["paid"] > 0
    assert statuses["shipped"] / n > 0.85
    assert set(statuses) == {"pending", "paid", "shipped", "cancelled", "refunded"}


def test_orders_span_the_half_year_and_q2_is_busier() -> None:
    orders = dataset().orders
    assert min(o.created_at for o in orders) >= FIRST_ORDER_AT
    assert max(o.created_at for o in orders) <= LAST_ORDER_AT
    assert min(o.created_at for o in orders) < datetime(2026, 1, 2, tzinfo=UTC)
    assert max(o.created_at for o in orders) > datetime(2026, 6, 26, 6, tzinfo=UTC)
    q1 = sum(1 for o in orders if o.created_at < Q2_START)
    q2 = len(orders) - q1
    assert q1 > 4_000
    assert q2 / 86.4 > 1.2 * q1 / 90


def test_time_of_day_and_weekly_patterns() -> None:
    orders = dataset().orders
    by_hour = Counter(o.created_at.hour for o in orders)
    evening = sum(by_hour[h] for h in (18, 19, 20, 21))
    night = sum(by_hour[h] for h in (2, 3, 4, 5))
    assert evening > 3 * night
    by_weekday = Counter(o.created_at.weekday() for o in orders)
    assert by_weekday[5] + by_weekday[6] > by_weekday[0] + by_weekday[1]


def test_amounts_are_cents_log_normal_with_a_few_large_orders() -> None:
    amounts = sorted(o.amount for o in dataset().orders)
    assert all(isinstance(a, Decimal) and a.as_tuple().exponent == -2 for a in amounts)
    assert all(a > 0 for a in amounts)
    median = amounts[len(amounts) // 2]
    mean = sum(amounts) / len(amounts)
    assert Decimal(150) < median < Decimal(600)
    assert mean > median  # right-skewed
    large = [a for a in amounts if a >= 5_000]
    assert 3 <= len(large) <= len(amounts) // 100
    round_dollars = sum(1 for a in amounts if a == a.to_integral_value())
    assert round_dollars < len(amounts) // 50


def test_customers_repeat_and_exist_before_their_orders() -> None:
    ds = dataset()
    customers = {c.customer_id: c for c in ds.customers}
    assert len({c.email for c in ds.customers}) == len(ds.customers)
    assert all(re.fullmatch(r"[a-z0-9._]+@[a-z0-9.]+", c.email) for c in ds.customers)
    assert all(len(c.country) == 2 and c.country.isupper() for c in ds.customers)
    for o in ds.orders:
        assert customers[o.customer_id].created_at <= o.created_at
    per_customer = Counter(o.customer_id for o in ds.orders)
    repeat = sum(1 for n in per_customer.values() if n > 1)
    assert repeat / len(per_customer) > 0.5
    assert max(per_customer.values()) < 200


def test_order_ids_follow_creation_time() -> None:
    orders = dataset().orders
    ids = [o.order_id for o in orders]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [o.created_at for o in orders] == sorted(o.created_at for o in orders)


def test_lifecycle_timestamps() -> None:
    for o in dataset().orders:
        assert o.currency == "USD"
        assert o.created_at <= o.updated_at <= STORY_CLOCK
        if o.status == "pending":
            assert o.updated_at == o.created_at
        if o.status in ("cancelled", "refunded"):
            assert o.refunded_at is None
            assert o.updated_at > o.created_at


def test_old_flow_refunds_stop_before_v2() -> None:
    refunded = [o for o in dataset().orders if o.status == "refunded"]
    assert all(o.refunded_at is None and o.updated_at < V2_REFUNDS_FROM for o in refunded)
    assert max(o.updated_at for o in refunded) > V2_REFUNDS_FROM - timedelta(days=3)
    months = Counter(o.updated_at.month for o in refunded)
    assert set(months) >= {1, 2, 3, 4, 5, 6}


def test_v2_refunds_leave_status_alone() -> None:
    v2 = [(o, o.refunded_at) for o in dataset().orders if o.refunded_at is not None]
    assert 150 <= len(v2) <= 800
    for o, refunded_at in v2:
        assert o.status in ("paid", "shipped")
        assert o.updated_at == refunded_at
        assert in_q2(o.created_at) and o.created_at < refunded_at
        assert refunded_at.date() in V2_DAYS
    assert {refunded_at.date() for _, refunded_at in v2} == set(V2_DAYS)
    assert Counter(o.status for o, _ in v2)["shipped"] > len(v2) // 2


def test_nothing_wrote_refunded_at_before_v2() -> None:
    assert all(o.refunded_at is None or o.refunded_at >= V2_REFUNDS_FROM for o in dataset().orders)


def test_ledger_mirrors_the_orders() -> None:
    ds = dataset()
    by_order: dict[int, list[str]] = {}
    for e in ds.ledger:
        by_order.setdefault(e.order_id, []).append(e.kind)
        assert (e.kind == "sale") == (e.amount > 0)
        assert e.posted_at <= STORY_CLOCK
    orders = {o.order_id: o for o in ds.orders}
    assert set(by_order) == set(orders)
    for order_id, kinds in by_order.items():
        o = orders[order_id]
        expected = ["sale"]
        if o.status == "cancelled":
            expected.append("cancellation")
        elif o.status == "refunded" or o.refunded_at is not None:
            expected.append("refund")
        assert sorted(kinds) == sorted(expected)
    for e in ds.ledger:
        o = orders[e.order_id]
        assert e.revenue_date == o.created_at.astimezone(UTC).date()
        assert abs(e.amount) == o.amount
    assert [e.posted_at for e in ds.ledger] == sorted(e.posted_at for e in ds.ledger)


def test_refunded_at_is_the_only_recent_migration() -> None:
    migrations = dataset().migrations
    assert 8 <= len(migrations) <= 12
    latest = max(migrations, key=lambda m: m.applied_at)
    assert latest.version == REFUNDED_AT_MIGRATION_VERSION == "20260424_0900_add_orders_refunded_at"
    assert latest.applied_at.date() == date(2026, 4, 24)
    before = sorted(m.applied_at for m in migrations)[-2]
    assert latest.applied_at - before > timedelta(days=55)
    assert all(m.applied_at.year >= 2025 for m in migrations)
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)


def test_dbt_history_is_144_green_hourly_runs() -> None:
    runs = dataset().dbt_runs
    assert len(runs) == 144
    assert runs[0].started_at.replace(second=0, microsecond=0) == datetime(2026, 6, 20, tzinfo=UTC)
    assert runs[-1].started_at.replace(second=0, microsecond=0) == datetime(2026, 6, 25, 23, tzinfo=UTC)
    for i, run in enumerate(runs):
        assert run.started_at.replace(second=0, microsecond=0) == runs[0].started_at.replace(
            second=0, microsecond=0
        ) + timedelta(hours=i)
        assert run.status == "success" and run.tests_failed == 0 and run.trigger == "schedule"
        assert timedelta(seconds=5) < run.finished_at - run.started_at < timedelta(minutes=2)
        assert run.models_built == history.DBT_MODELS_BUILT
        assert run.tests_passed == history.DBT_TESTS_PASSED


# -- schemas, CLI and write primitives (no server needed) ---------------------------------------------


def _columns(ddl: str, table: str) -> list[str]:
    body = re.search(rf"create table {re.escape(table)} \((.*?)\n\);", ddl, re.S)
    assert body, table
    names = [line.split()[0] for line in body.group(1).splitlines() if line.strip()]
    return [n for n in names if n not in ("constraint", "check") and re.fullmatch(r"[a-z_]+", n)]


def test_raw_tables_mirror_the_oltp_columns() -> None:
    shop, warehouse = load.schema_sql("shop"), load.schema_sql("warehouse")
    assert _columns(shop, "orders") == list(load.ORDER_COLUMNS)
    assert _columns(shop, "customers") == list(load.CUSTOMER_COLUMNS)
    assert _columns(warehouse, "raw.orders") == [*load.ORDER_COLUMNS, "_synced_at"]
    assert _columns(warehouse, "raw.customers") == [*load.CUSTOMER_COLUMNS, "_synced_at"]
    assert "erp" not in re.findall(r"grant .* on schema (\w+) to lab_transformer", warehouse)


def test_unknown_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown schema"):
        load.schema_sql("nope")


def test_cli_summary_prints_the_headline(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--seed", str(DEFAULT_SEED), "--summary"]) == 0
    out = capsys.readouterr().out
    assert "4,206,000.00" in out and "3,690,000.00" in out and "516,000.00" in out


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--json"]) == 0
    out = capsys.readouterr().out
    assert '"erp_q2_net": "3690000.00"' in out and '"tile_q2": "4206000.00"' in out


def test_write_primitives_validate_before_touching_the_database() -> None:
    at = datetime(2026, 6, 26, 9, tzinfo=UTC)
    with pytest.raises(TypeError):
        events.create_order(None, None, 1, 12.5, at)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        events.create_order(None, None, 1, Decimal("0"), at)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        events.create_order(None, None, 1, Decimal("1.005"), at)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        events.create_order(None, None, 1, Decimal("10.00"), at.replace(tzinfo=None))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        events.refund_v2(None, None, 1, at.replace(tzinfo=None))  # type: ignore[arg-type]
