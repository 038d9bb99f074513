"""Shop events made by hand (`lab orders …`, the workspace, the checker's live probe): each goes through the
orders service's own primitives (seed/events.py) to the OLTP database and the ERP ledger, on the story clock.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg

from lab.errors import ExitCode, LabError
from lab.stack import Lab
from seed import events, story

KINDS = ("refund-v2", "refund-old", "cancel")


def story_now(lab: Lab) -> datetime:
    """Now on the story clock, kept inside Q2 however long the lab has been running."""
    now = lab.session.read().story_now()
    return min(now, story.Q3_START - timedelta(minutes=1))


@contextmanager
def connections(lab: Lab) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    if not lab.oltp.pid():
        raise LabError("the lab is not running", "start it with `make lab-up`", ExitCode.LAB_UNHEALTHY)
    with lab.oltp.connect("shop") as shop, lab.oltp.connect("erp") as erp:
        yield shop, erp


def pick_customer(shop: psycopg.Connection, rng: random.Random) -> int:
    (hi,) = shop.execute("select max(customer_id) from customers").fetchone()
    row = shop.execute("select customer_id from customers where customer_id >= %s order by customer_id limit 1",
                       (rng.randint(1, hi),)).fetchone()
    return int(row[0])


def random_amount(rng: random.Random) -> Decimal:
    return Decimal(str(round(min(max(rng.lognormvariate(5.6, 0.7), 12.0), 4000.0), 2))).quantize(Decimal("0.01"))


def create_order(lab: Lab, amount: Decimal, customer: int | None = None, status: str = "paid",
                 rng: random.Random | None = None) -> tuple[int, int]:
    """A new order now (story time), its sale posted to the ERP. Returns (order id, customer id)."""
    with connections(lab) as (shop, erp):
        cid = customer or pick_customer(shop, rng or random.Random())
        oid = events.create_order(shop, erp, cid, amount, story_now(lab), status=status)
    return oid, cid


def close_order(lab: Lab, kind: str, order_id: int) -> None:
    """refund-v2 (sets refunded_at, status unchanged), refund-old (status = 'refunded') or cancel."""
    fn = {"refund-v2": events.refund_v2, "refund-old": events.refund_old_flow, "cancel": events.cancel}[kind]
    with connections(lab) as (shop, erp):
        try:
            fn(shop, erp, order_id, story_now(lab))
        except ValueError as exc:
            raise LabError(f"order {order_id}: {exc}", "pick an order that is still paid or shipped") from exc


def eligible(shop: psycopg.Connection, statuses: tuple[str, ...], before: datetime) -> list[int]:
    """Orders of Q2 in one of these statuses, not refunded, placed before `before`."""
    rows = shop.execute("select order_id from orders where status = any(%s) and refunded_at is null "
                        "and created_at >= %s and created_at < %s order by order_id",
                        (list(statuses), story.Q2_START, before)).fetchall()
    return [int(r[0]) for r in rows]
