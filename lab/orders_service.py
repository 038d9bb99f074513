"""The orders service: keeps the shop alive while the lab runs.

It writes new orders (story time, inside Q2) and, now and then, a v2 refund (sets refunded_at only) —
the way the real service does since 2026-06-20 — posting each event to the ERP ledger too.
Every few seconds it also runs finance's export of the ERP control totals into the warehouse.

Run by the lab as `python -m lab.orders_service`; `lab orders ...` drives the same primitives by hand.
"""

from __future__ import annotations

import logging
import random
import signal
import time
from datetime import UTC, datetime, timedelta

import psycopg

from lab import shop as shop_events
from lab.config import settings as load_settings
from lab.stack import build
from seed import events, story
from seed import load as seedload

log = logging.getLogger("orders-service")
EXPORT_EVERY = 5.0
# While the shop is paused (a check is judging, or a facilitator paused it) finance exports every second:
# the checker waits for the export to equal the ledger, and the probe's own entries should land at once.
EXPORT_EVERY_PAUSED = 1.0


def _close(*conns: psycopg.Connection | None) -> None:
    for conn in conns:
        if conn is not None:
            conn.close()


def pick_refundable(shop: psycopg.Connection, rng: random.Random, before: datetime) -> int | None:
    rows = shop.execute(
        "select order_id from orders where status in ('paid', 'shipped') and refunded_at is null "
        "and created_at >= %s and created_at < %s order by order_id desc limit 200",
        (story.Q2_START, before)).fetchall()
    return int(rng.choice(rows)[0]) if rows else None


class Service:
    def __init__(self) -> None:
        self.settings = load_settings()
        self.lab = build(self.settings)
        self.rng = random.Random()
        self.stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        session = self.lab.session.try_read()
        started_at = (session.clock_started_at if session else None) or datetime.now(UTC)
        next_export = time.monotonic()
        next_order = next_export + self.settings.first_order_after_s
        log.info("started: about %g orders a minute (the first in %g s); finance's ERP export every %g s",
                 self.settings.orders_per_minute, self.settings.first_order_after_s, EXPORT_EVERY)
        shop = erp = wh = None
        while not self.stopping:
            self.lab.orders.beat()
            now = time.monotonic()
            try:
                if shop is None or shop.closed or erp is None or erp.closed:
                    _close(shop, erp)
                    shop = erp = None
                    shop = self.lab.oltp.connect("shop")
                    erp = self.lab.oltp.connect("erp")
                if now >= next_order and not self.lab.orders.paused:
                    self.tick(shop, erp, story.story_now(started_at))
                    next_order = now + self.rng.expovariate(max(self.settings.orders_per_minute, 0.01) / 60.0)
            except psycopg.OperationalError as exc:
                log.warning("OLTP database unavailable (%s); retrying", str(exc).strip().splitlines()[0])
                _close(shop, erp)
                shop = erp = None
                time.sleep(1)
            # Finance's export also needs the warehouse; a warehouse outage does not stop the shop selling.
            if now >= next_export and erp is not None:
                try:
                    if wh is None or wh.closed:
                        wh = self.lab.warehouse.connect("warehouse", user="lab_finance")
                    seedload.export_control_totals(erp, wh)
                except psycopg.OperationalError as exc:
                    log.warning("export skipped, a database is unavailable (%s)", str(exc).strip().splitlines()[0])
                    _close(wh)
                    wh = None
                next_export = now + (EXPORT_EVERY_PAUSED if self.lab.orders.paused else EXPORT_EVERY)
            time.sleep(0.2)
        log.info("stopped")

    def tick(self, shop: psycopg.Connection, erp: psycopg.Connection, story_now: datetime) -> None:
        customer = shop_events.pick_customer(shop, self.rng)
        order_id = events.create_order(shop, erp, customer, shop_events.random_amount(self.rng), story_now)
        log.info("order %s created", order_id)
        # About one v2 refund for every eight new orders, as in the week before the incident.
        if self.rng.random() < 0.125:
            victim = pick_refundable(shop, self.rng, story_now - timedelta(minutes=5))
            if victim is not None:
                events.refund_v2(shop, erp, victim, story_now)
                log.info("order %s refunded (v2: refunded_at set)", victim)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Service().run()


if __name__ == "__main__":
    main()
