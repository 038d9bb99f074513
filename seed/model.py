"""The rows the generator produces, one dataclass per table, plus the figures the story rests on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: int
    name: str
    email: str
    country: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Order:
    """One row of shop.orders as it stands at the story clock."""

    order_id: int
    customer_id: int
    status: str
    amount: Decimal
    currency: str
    created_at: datetime
    updated_at: datetime
    refunded_at: datetime | None


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    description: str
    applied_at: datetime


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One row of erp.ledger (entry_id is assigned by the database, in posted_at order)."""

    order_id: int
    kind: str  # 'sale' | 'refund' | 'cancellation'
    amount: Decimal  # sale positive, refund/cancellation negative
    revenue_date: date
    posted_at: datetime


@dataclass(frozen=True, slots=True)
class DbtRun:
    """One row of warehouse ops.dbt_runs (run_id is assigned by the database)."""

    started_at: datetime
    finished_at: datetime
    status: str
    models_built: int
    tests_passed: int
    tests_failed: int
    trigger: str


@dataclass(frozen=True, slots=True)
class Figures:
    """Q2 2026 figures, all computed from the generated rows (never copied from the targets)."""

    q2_gross: Decimal  # every Q2 order's amount
    q2_cancelled: Decimal  # Q2 orders with status 'cancelled'
    q2_refunded_old_flow: Decimal  # Q2 orders with status 'refunded'
    v2_refunds_total: Decimal  # Q2 orders with refunded_at set (status still paid/shipped)
    v2_refunds_by_day: dict[date, Decimal]  # by refunded_at date
    erp_q2_net: Decimal  # the ledger's Q2 net revenue
    tile_q2: Decimal  # what the defective mart shows: gross - cancelled - old-flow refunded

    @property
    def gap(self) -> Decimal:
        return self.tile_q2 - self.erp_q2_net


@dataclass(frozen=True, slots=True)
class Dataset:
    seed: int
    customers: list[Customer]
    orders: list[Order]
    migrations: list[Migration]
    ledger: list[LedgerEntry]
    dbt_runs: list[DbtRun]
    figures: Figures
