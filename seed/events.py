"""The orders service's writes: each changes the OLTP `shop` database and posts the matching ERP entry.

Used by the live orders service and by the checker's probe. Every function takes two open psycopg
connections, `shop` and `erp`, neither inside an open transaction. The OLTP change commits first, then
the ledger entry (the real service does the same and has no two-phase commit).

The refund primitives are the two flows of the story:
- `refund_old_flow`: status = 'refunded' (refunded_at stays NULL) — the flow until 2026-06-19;
- `refund_v2`: sets refunded_at only, status stays 'paid'/'shipped' — the flow from 2026-06-20.
Both, like `cancel`, post a reversal of the full amount dated by the order's creation date, and refuse
(ValueError) an order that is already cancelled or refunded by either flow.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import psycopg

from seed.db import transaction
from seed.story import CENT, revenue_date

if TYPE_CHECKING:
    from typing import LiteralString

__all__ = ["cancel", "create_order", "mark_paid", "mark_shipped", "refund_old_flow", "refund_v2"]


def create_order(
    shop: psycopg.Connection,
    erp: psycopg.Connection,
    customer_id: int,
    amount: Decimal,
    created_at: datetime,
    *,
    status: str = "paid",
) -> int:
    """Insert an order (status 'paid' by default, or 'pending') and post its sale. Returns the order_id."""
    amount = _money(amount)
    _aware(created_at)
    if status not in ("pending", "paid"):
        raise ValueError(f"a new order is 'pending' or 'paid', not {status!r}")
    with transaction(shop):
        row = shop.execute(
            "insert into orders (customer_id, status, amount, currency, created_at, updated_at)"
            " values (%s, %s, %s, 'USD', %s, %s) returning order_id",
            (customer_id, status, amount, created_at, created_at),
        ).fetchone()
    if row is None:
        raise RuntimeError("insert into orders returned no order_id")
    order_id = int(row[0])
    _post(erp, order_id, "sale", amount, created_at, created_at)
    return order_id


def refund_v2(shop: psycopg.Connection, erp: psycopg.Connection, order_id: int, at: datetime) -> None:
    """Refund flow v2: set refunded_at (and updated_at); the status is left as it is."""
    amount, created_at = _close(
        shop,
        order_id,
        at,
        "update orders set refunded_at = %(at)s, updated_at = %(at)s where order_id = %(id)s",
    )
    _post(erp, order_id, "refund", -amount, created_at, at)


def refund_old_flow(shop: psycopg.Connection, erp: psycopg.Connection, order_id: int, at: datetime) -> None:
    """The original refund flow: status = 'refunded', refunded_at untouched (NULL)."""
    amount, created_at = _close(
        shop,
        order_id,
        at,
        "update orders set status = 'refunded', updated_at = %(at)s where order_id = %(id)s",
    )
    _post(erp, order_id, "refund", -amount, created_at, at)


def cancel(shop: psycopg.Connection, erp: psycopg.Connection, order_id: int, at: datetime) -> None:
    """Cancel the order: status = 'cancelled', and the sale is reversed in the ledger."""
    amount, created_at = _close(
        shop,
        order_id,
        at,
        "update orders set status = 'cancelled', updated_at = %(at)s where order_id = %(id)s",
    )
    _post(erp, order_id, "cancellation", -amount, created_at, at)


def mark_paid(shop: psycopg.Connection, order_id: int, at: datetime) -> None:
    """pending -> paid (no ledger entry: the sale was posted when the order was placed)."""
    _advance(shop, order_id, at, "pending", "paid")


def mark_shipped(shop: psycopg.Connection, order_id: int, at: datetime) -> None:
    """paid -> shipped (no ledger entry)."""
    _advance(shop, order_id, at, "paid", "shipped")


# -- helpers -------------------------------------------------------------------------------------------


def _close(shop: psycopg.Connection, order_id: int, at: datetime, update: LiteralString) -> tuple[Decimal, datetime]:
    """Lock the order, refuse it if it is already cancelled or refunded, then run `update`."""
    _aware(at)
    with transaction(shop):
        status, amount, created_at, refunded_at = _lock(shop, order_id)
        if status in ("cancelled", "refunded"):
            raise ValueError(f"order {order_id} is already {status}")
        if refunded_at is not None:
            raise ValueError(f"order {order_id} is already refunded (refunded_at {refunded_at.isoformat()})")
        if at < created_at:
            raise ValueError(f"order {order_id} was created after {at.isoformat()}")
        shop.execute(update, {"at": at, "id": order_id})
    return amount, created_at


def _advance(shop: psycopg.Connection, order_id: int, at: datetime, current: str, new: str) -> None:
    _aware(at)
    with transaction(shop):
        status, _, created_at, refunded_at = _lock(shop, order_id)
        if status != current or refunded_at is not None:
            state = "refunded" if refunded_at is not None else status
            raise ValueError(f"order {order_id} is {state}; only a {current} order can become {new}")
        if at < created_at:
            raise ValueError(f"order {order_id} was created after {at.isoformat()}")
        shop.execute("update orders set status = %s, updated_at = %s where order_id = %s", (new, at, order_id))


def _lock(shop: psycopg.Connection, order_id: int) -> tuple[str, Decimal, datetime, datetime | None]:
    row = shop.execute(
        "select status, amount, created_at, refunded_at from orders where order_id = %s for update",
        (order_id,),
    ).fetchone()
    if row is None:
        raise ValueError(f"order {order_id} does not exist")
    return row[0], row[1], row[2], row[3]


def _post(
    erp: psycopg.Connection, order_id: int, kind: str, amount: Decimal, created_at: datetime, at: datetime
) -> None:
    with transaction(erp):
        erp.execute(
            "insert into ledger (order_id, kind, amount, revenue_date, posted_at) values (%s, %s, %s, %s, %s)",
            (order_id, kind, amount, revenue_date(created_at), at),
        )


def _money(amount: Decimal) -> Decimal:
    if isinstance(amount, float):
        raise TypeError("amounts are Decimal, never float")
    value = Decimal(amount)
    if value <= 0 or value != value.quantize(CENT):
        raise ValueError(f"an order amount is positive with at most two decimals, not {amount}")
    return value.quantize(CENT)


def _aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"timestamps must be timezone-aware (UTC), got {at.isoformat()}")
