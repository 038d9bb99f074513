"""Deterministic generator of the shop's history up to the story clock.

`generate(seed)` is pure: one `random.Random(seed)` drives everything and nothing depends on the time of
day. The default seed reproduces the incident's headline figures exactly; other seeds tell the same story
with other amounts, ids and per-day splits.

How exact figures are reached without a visible plug row:
1. order times, customers, lifecycles (cancel / old-flow refund) and raw log-normal amounts are drawn;
2. all amounts are scaled so that Q2's tile-eligible total lands on the tile target (to within rounding);
3. each v2 refund day picks orders until a few hundred dollars are left, then the order whose amount is
   closest to that remainder takes it exactly (a change of cents);
4. the last cents of the tile target go to one ordinary Q2 order.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate

from seed import history
from seed.model import Customer, Dataset, Figures, LedgerEntry, Order
from seed.people import Identities
from seed.story import (
    CENT,
    DEFAULT_SEED,
    DEFAULT_TILE_Q2,
    DEFAULT_V2_REFUNDS_TOTAL,
    FIRST_ORDER_AT,
    LAST_ORDER_AT,
    Q2_START,
    Q3_START,
    STORY_CLOCK,
    UTC,
    V2_REFUND_DAYS,
    V2_REFUNDS_FROM,
    revenue_date,
)

__all__ = ["DEFAULT_SEED", "Dataset", "generate"]

# Share of orders of each hour of the day (UTC): quiet at night, busiest in the evening.
_HOUR_WEIGHTS = (
    0.95, 0.70, 0.45, 0.32, 0.26, 0.25, 0.30, 0.45, 0.66, 0.82, 0.93, 1.00,
    1.06, 1.05, 1.00, 1.00, 1.06, 1.18, 1.38, 1.58, 1.72, 1.66, 1.42, 1.18,
)  # fmt: skip
_HOUR_SHARE = tuple(w / sum(_HOUR_WEIGHTS) for w in _HOUR_WEIGHTS)
# Monday .. Sunday: weekends are busier.
_WEEKDAY_FACTOR = (0.93, 0.91, 0.95, 0.98, 1.04, 1.09, 1.10)
# A Mother's Day promotion weekend.
_PROMO_DAYS = {date(2026, 5, 8): 1.35, date(2026, 5, 9): 1.55, date(2026, 5, 10): 1.45}

# Share of orders placed by a customer signing up at checkout: high in the first weeks, then steady.
_NEW_CUSTOMER_SHARE = (0.105, 0.30, 25.0)  # base, extra at opening, decay in days
_PRELAUNCH_CUSTOMERS = (200, 300)  # waitlist sign-ups before the shop opened
_BROWSING_SIGNUPS = 0.07  # extra customers who signed up and never ordered, as a share of the rest

_CANCEL_RATE = 0.026
_OLD_REFUND_RATE = 0.034  # a few late orders are not refunded before the v2 flow takes over
_MEDIAN_AMOUNT = 300.0
_AMOUNT_SIGMA = 0.85
_MIN_AMOUNT = Decimal("4.99")

_V2_STOP_GREEDY = Decimal("2500")  # a v2 day picks orders greedily until less than this is left
_V2_MIN_LEFT = Decimal("150")


@dataclass
class _CustomerDraft:
    created_at: datetime
    weight: float
    customer_id: int = 0


@dataclass
class _OrderDraft:
    created_at: datetime
    paid_at: datetime
    shipped_at: datetime
    customer: _CustomerDraft
    raw_amount: float
    amount: Decimal = Decimal(0)
    fate: str = "open"  # open | cancelled | refunded (old flow) | v2
    closed_at: datetime | None = None  # when it was cancelled or refunded
    order_id: int = 0

    @property
    def in_q2(self) -> bool:
        return Q2_START <= self.created_at < Q3_START

    def status_at(self, at: datetime) -> str:
        if at >= self.shipped_at:
            return "shipped"
        return "paid" if at >= self.paid_at else "pending"


@dataclass(frozen=True)
class _Targets:
    tile_q2: Decimal
    v2_by_day: dict[date, Decimal]


def generate(seed: int = DEFAULT_SEED) -> Dataset:
    """Build the whole dataset for `seed`. Raises RuntimeError if the figures do not come out exact."""
    rng = random.Random(seed)
    targets = _targets(rng, seed)
    times = _order_times(rng)
    customers, drafts = _customers_and_orders(rng, times)
    for draft in drafts:
        _lifecycle(rng, draft)
    _scale_amounts(drafts, targets.tile_q2)
    for day, amount in targets.v2_by_day.items():
        _v2_refund_day(rng, drafts, day, amount)
    _settle_tile(rng, drafts, targets.tile_q2)
    _assign_order_ids(rng, drafts)

    customer_rows = _customer_rows(rng, customers)
    orders = [_order_row(d) for d in drafts]
    ledger = _ledger(drafts)
    figures = _figures(orders, ledger)
    _verify(figures, targets)
    return Dataset(
        seed=seed,
        customers=customer_rows,
        orders=orders,
        migrations=history.migrations(),
        ledger=ledger,
        dbt_runs=history.dbt_runs(rng),
        figures=figures,
    )


# -- targets -------------------------------------------------------------------------------------------


def _cents(value: float | Decimal) -> Decimal:
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(CENT, ROUND_HALF_UP)


def _targets(rng: random.Random, seed: int) -> _Targets:
    days = V2_REFUND_DAYS
    if seed == DEFAULT_SEED:
        tile = DEFAULT_TILE_Q2
        per_day = _split(rng, DEFAULT_V2_REFUNDS_TOTAL, len(days), Decimal(80_000), Decimal(92_000))
    else:
        tile = _cents(float(DEFAULT_TILE_Q2) * rng.uniform(0.90, 1.10))
        per_day = []
        while len(set(per_day)) < len(days):
            per_day = [_cents(rng.uniform(70_000.0, 100_000.0)) for _ in days]
    return _Targets(tile_q2=tile, v2_by_day=dict(zip(days, per_day, strict=True)))


def _split(rng: random.Random, total: Decimal, parts: int, low: Decimal, high: Decimal) -> list[Decimal]:
    """`parts` distinct amounts between low and high that add up to exactly `total`."""
    while True:
        weights = [rng.uniform(0.93, 1.07) for _ in range(parts)]
        amounts = [_cents(float(total) * w / sum(weights)) for w in weights[:-1]]
        amounts.append(total - sum(amounts))
        if len(set(amounts)) == parts and all(low <= a <= high for a in amounts):
            return amounts


# -- when orders arrive and who places them ------------------------------------------------------------


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _daily_rate(day: date) -> float:
    """Expected orders per day before weekday and noise: growing through Q1, a step up in Q2."""
    n = (day - FIRST_ORDER_AT.date()).days
    if day < Q2_START.date():
        return 62.0 + 18.0 * n / 90
    return 100.0 + 22.0 * (n - 90) / 87


def _order_times(rng: random.Random) -> list[datetime]:
    level = rng.uniform(0.93, 1.07)
    times: list[datetime] = []
    day = FIRST_ORDER_AT.date()
    while day <= LAST_ORDER_AT.date():
        rate = _daily_rate(day) * level * _WEEKDAY_FACTOR[day.weekday()] * _PROMO_DAYS.get(day, 1.0)
        rate *= rng.lognormvariate(0.0, 0.08)
        for hour, share in enumerate(_HOUR_SHARE):
            start = datetime.combine(day, time(hour), tzinfo=UTC)
            for _ in range(_poisson(rng, rate * share)):
                at = start + timedelta(microseconds=rng.randrange(3_600_000_000))
                if at <= LAST_ORDER_AT:
                    times.append(at)
        day += timedelta(days=1)
    times.sort()
    return times


def _customers_and_orders(rng: random.Random, times: list[datetime]) -> tuple[list[_CustomerDraft], list[_OrderDraft]]:
    """Customers come from a waitlist or sign up at checkout; repeat buyers are weighted log-normally."""
    customers: list[_CustomerDraft] = []
    cumulative: list[float] = []

    def add_customer(created_at: datetime) -> _CustomerDraft:
        customer = _CustomerDraft(created_at, min(rng.lognormvariate(0.0, 0.8), 5.0))
        customers.append(customer)
        cumulative.append((cumulative[-1] if cumulative else 0.0) + customer.weight)
        return customer

    waitlist_from = datetime(2025, 11, 3, tzinfo=UTC)
    span = (FIRST_ORDER_AT - waitlist_from).total_seconds()
    for offset in sorted(rng.uniform(0, span) for _ in range(rng.randint(*_PRELAUNCH_CUSTOMERS))):
        add_customer(waitlist_from + timedelta(seconds=offset))

    base, extra, decay = _NEW_CUSTOMER_SHARE
    drafts = []
    for at in times:
        days_open = (at - FIRST_ORDER_AT).total_seconds() / 86_400
        if rng.random() < base + extra * math.exp(-days_open / decay):
            customer = add_customer(at - timedelta(seconds=rng.uniform(45, 1500)))
        else:
            customer = customers[bisect_right(cumulative, rng.random() * cumulative[-1])]
        amount = rng.lognormvariate(math.log(_MEDIAN_AMOUNT), _AMOUNT_SIGMA)
        if rng.random() < 0.004:  # the occasional bulk or corporate order
            amount *= rng.uniform(3.0, 9.0)
        drafts.append(_OrderDraft(at, at, at, customer, min(max(amount, 9.0), 20_000.0)))

    span = (LAST_ORDER_AT - FIRST_ORDER_AT).total_seconds()
    for _ in range(round(len(customers) * _BROWSING_SIGNUPS)):
        add_customer(FIRST_ORDER_AT + timedelta(seconds=rng.uniform(0, span)))
    return customers, drafts


def _customer_rows(rng: random.Random, customers: list[_CustomerDraft]) -> list[Customer]:
    identities = Identities(rng)
    rows = []
    for customer_id, customer in enumerate(sorted(customers, key=lambda c: c.created_at), start=1):
        customer.customer_id = customer_id
        name, email, country = identities.next()
        rows.append(Customer(customer_id, name, email, country, customer.created_at))
    return rows


# -- what happened to each order -----------------------------------------------------------------------


def _lifecycle(rng: random.Random, d: _OrderDraft) -> None:
    """Payment, dispatch, and possibly a cancellation or an old-flow refund (status = 'refunded')."""
    r = rng.random()
    if r < 0.92:
        pay = timedelta(seconds=rng.uniform(15, 720))
    elif r < 0.99:
        pay = timedelta(minutes=rng.uniform(40, 1800))  # bank transfer, manual review
    else:
        pay = timedelta(days=rng.uniform(2, 5))
    d.paid_at = d.created_at + pay
    d.shipped_at = d.paid_at + timedelta(hours=rng.uniform(10, 84))

    fate = rng.random()
    if fate < _CANCEL_RATE:
        at = d.created_at + (d.shipped_at - d.created_at) * rng.uniform(0.02, 0.85)
        if at <= STORY_CLOCK:
            d.fate, d.closed_at = "cancelled", at
    elif fate < _CANCEL_RATE + _OLD_REFUND_RATE:
        if rng.random() < 0.8:  # returned after delivery
            at = d.shipped_at + timedelta(days=rng.uniform(2, 30))
        else:  # refunded before dispatch
            at = d.paid_at + (d.shipped_at - d.paid_at) * rng.uniform(0.1, 0.9)
        if at < V2_REFUNDS_FROM:
            d.fate, d.closed_at = "refunded", at


def _scale_amounts(drafts: list[_OrderDraft], tile_q2: Decimal) -> None:
    eligible = sum(d.raw_amount for d in drafts if d.in_q2 and d.fate == "open")
    factor = float(tile_q2) / eligible
    for d in drafts:
        d.amount = max(_cents(d.raw_amount * factor), _MIN_AMOUNT)


def _support_time(rng: random.Random, day: date) -> datetime:
    """A moment on `day` when the support team issues refunds (mostly 07:00-22:00 UTC)."""
    hour = rng.choices(range(24), [0.15] * 7 + [1.0] * 15 + [0.4] * 2)[0]
    offset = timedelta(hours=hour, microseconds=rng.randrange(3_600_000_000))
    return datetime.combine(day, time(), tzinfo=UTC) + offset


def _v2_refund_day(rng: random.Random, drafts: list[_OrderDraft], day: date, target: Decimal) -> None:
    """Full refunds of Q2 orders through the v2 flow on `day`, adding up to exactly `target`."""
    placed_before = datetime.combine(day, time(), tzinfo=UTC) - timedelta(hours=12)
    pool = [d for d in drafts if d.fate == "open" and d.in_q2 and d.created_at < placed_before]
    cumulative = list(accumulate(float(d.amount) ** 1.4 for d in pool))  # bigger orders get refunded more
    left = target
    for _ in range(200_000):
        if left < _V2_STOP_GREEDY:
            break
        d = pool[bisect_right(cumulative, rng.random() * cumulative[-1])]
        if d.fate != "open" or d.amount > left - _V2_MIN_LEFT:
            continue
        at = _support_time(rng, day)
        if d.status_at(at) == "pending":
            continue
        d.fate, d.closed_at = "v2", at
        left -= d.amount
    else:
        raise RuntimeError(f"could not pick v2 refunds for {day}")

    # The last refund of the day takes the exact remainder: the open order whose amount is nearest to it.
    open_orders = sorted((d for d in pool if d.fate == "open"), key=lambda d: d.amount)
    amounts = [d.amount for d in open_orders]
    i = bisect_left(amounts, left)
    nearest = sorted(open_orders[max(i - 3, 0) : i + 3], key=lambda d: abs(d.amount - left))
    for d in nearest:
        at = _support_time(rng, day)
        if d.status_at(at) != "pending":
            d.fate, d.closed_at, d.amount = "v2", at, left
            return
    raise RuntimeError(f"no order left to close the v2 refunds of {day}")


def _settle_tile(rng: random.Random, drafts: list[_OrderDraft], tile_q2: Decimal) -> None:
    """Give the last few cents of the tile target to ordinary Q2 orders, at most $25 each."""
    eligible = [d for d in drafts if d.in_q2 and d.fate in ("open", "v2")]
    diff = tile_q2 - sum(d.amount for d in eligible)
    candidates = [d for d in eligible if d.fate == "open" and d.amount > 150]
    while diff:
        step = max(min(diff, Decimal(25)), Decimal(-25))
        d = candidates.pop(rng.randrange(len(candidates)))
        d.amount += step
        diff -= step


def _assign_order_ids(rng: random.Random, drafts: list[_OrderDraft]) -> None:
    """Ids follow creation time from 1001, with the odd gap a rolled-back insert leaves in a sequence."""
    next_id = 1001
    for d in drafts:
        if rng.random() < 0.006:
            next_id += rng.randint(1, 3)
        d.order_id = next_id
        next_id += 1


# -- rows ----------------------------------------------------------------------------------------------


def _order_row(d: _OrderDraft) -> Order:
    refunded_at = None
    if d.closed_at is not None and d.fate in ("cancelled", "refunded"):
        status, updated_at = d.fate, d.closed_at
    elif d.closed_at is not None and d.fate == "v2":  # the v2 flow sets refunded_at and updated_at only
        status, updated_at, refunded_at = d.status_at(d.closed_at), d.closed_at, d.closed_at
    else:
        status = d.status_at(STORY_CLOCK)
        updated_at = {"pending": d.created_at, "paid": d.paid_at, "shipped": d.shipped_at}[status]
    return Order(
        order_id=d.order_id,
        customer_id=d.customer.customer_id,
        status=status,
        amount=d.amount,
        currency="USD",
        created_at=d.created_at,
        updated_at=updated_at,
        refunded_at=refunded_at,
    )


def _ledger(drafts: list[_OrderDraft]) -> list[LedgerEntry]:
    """What the orders service posted to the ERP: a sale per order and a reversal per cancel or refund."""
    entries = []
    for d in drafts:
        day = revenue_date(d.created_at)
        entries.append(LedgerEntry(d.order_id, "sale", d.amount, day, d.created_at))
        if d.closed_at is not None:
            kind = "cancellation" if d.fate == "cancelled" else "refund"
            entries.append(LedgerEntry(d.order_id, kind, -d.amount, day, d.closed_at))
    entries.sort(key=lambda e: (e.posted_at, e.order_id))
    return entries


def _figures(orders: list[Order], ledger: list[LedgerEntry]) -> Figures:
    q2 = [o for o in orders if Q2_START <= o.created_at < Q3_START]
    gross = sum((o.amount for o in q2), Decimal(0))
    cancelled = sum((o.amount for o in q2 if o.status == "cancelled"), Decimal(0))
    refunded = sum((o.amount for o in q2 if o.status == "refunded"), Decimal(0))
    by_day: dict[date, Decimal] = {}
    for o in orders:
        if o.refunded_at is not None:
            day = o.refunded_at.date()
            by_day[day] = by_day.get(day, Decimal(0)) + o.amount
    q2_days = (Q2_START.date(), Q3_START.date())
    erp = sum((e.amount for e in ledger if q2_days[0] <= e.revenue_date < q2_days[1]), Decimal(0))
    return Figures(
        q2_gross=gross,
        q2_cancelled=cancelled,
        q2_refunded_old_flow=refunded,
        v2_refunds_total=sum(by_day.values(), Decimal(0)),
        v2_refunds_by_day=dict(sorted(by_day.items())),
        erp_q2_net=erp,
        tile_q2=gross - cancelled - refunded,
    )


def _verify(figures: Figures, targets: _Targets) -> None:
    problems = []
    if figures.tile_q2 != targets.tile_q2:
        problems.append(f"tile {figures.tile_q2} != {targets.tile_q2}")
    if figures.v2_refunds_by_day != targets.v2_by_day:
        problems.append(f"v2 refunds by day {figures.v2_refunds_by_day} != {targets.v2_by_day}")
    if figures.erp_q2_net != figures.tile_q2 - figures.v2_refunds_total:
        problems.append(f"ERP {figures.erp_q2_net} != tile - v2 refunds")
    if problems:
        raise RuntimeError("seed figures do not add up: " + "; ".join(problems))
