"""The real CDC pipeline: OLTP PostgreSQL → Debezium (Kafka Connect) → Kafka → JDBC sink → warehouse."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

pytestmark = pytest.mark.integration


def wait_row(lab, order_id: int, predicate, timeout: float = 15.0):
    """Poll the warehouse for the row until predicate(row) holds; returns (row, seconds)."""
    start = time.monotonic()
    row = None
    with lab.warehouse.connect("warehouse") as conn:
        while time.monotonic() - start < timeout:
            row = conn.execute("select order_id, customer_id, status, amount, created_at, updated_at, refunded_at "
                               "from raw.orders where order_id = %s", (order_id,)).fetchone()
            if predicate(row):
                return row, time.monotonic() - start
            time.sleep(0.05)
    raise AssertionError(f"order {order_id} did not reach the expected state in {timeout} s; last seen: {row}")


def test_connectors_and_tasks_report_running_through_the_rest_api(running_lab):
    for name in ("shop-source", "warehouse-sink"):
        resp = httpx.get(f"{running_lab.connect.url}/connectors/{name}/status", timeout=5)
        assert resp.status_code == 200
        body = resp.json()
        assert body["connector"]["state"] == "RUNNING"
        assert body["tasks"] and all(t["state"] == "RUNNING" for t in body["tasks"])
    plugins = httpx.get(f"{running_lab.connect.url}/connector-plugins", timeout=5).json()
    classes = {p["class"] for p in plugins}
    assert {"io.debezium.connector.postgresql.PostgresConnector",
            "io.debezium.connector.jdbc.JdbcSinkConnector"} <= classes


def test_insert_update_refund_and_delete_reach_the_warehouse_exactly(running_lab):
    lab = running_lab
    created = datetime(2026, 6, 26, 8, 50, 12, 345678, tzinfo=UTC)
    with lab.oltp.connect("shop") as shop:
        customer = shop.execute("select min(customer_id) from customers").fetchone()[0]
        order_id = shop.execute(
            "insert into orders(customer_id, status, amount, created_at, updated_at) "
            "values (%s, 'paid', 1234.57, %s, %s) returning order_id", (customer, created, created)).fetchone()[0]
    row, _ = wait_row(lab, order_id, lambda r: r is not None)
    assert row[2] == "paid" and row[3] == Decimal("1234.57") and row[4] == created and row[6] is None

    refunded = datetime(2026, 6, 26, 9, 1, 2, 3, tzinfo=UTC)
    with lab.oltp.connect("shop") as shop:
        shop.execute("update orders set refunded_at = %s, updated_at = %s, amount = 0.01 where order_id = %s",
                     (refunded, refunded, order_id))
    row, _ = wait_row(lab, order_id, lambda r: r is not None and r[6] is not None)
    assert row[6] == refunded and row[5] == refunded and row[3] == Decimal("0.01") and row[2] == "paid"

    with lab.oltp.connect("shop") as shop:
        shop.execute("delete from orders where order_id = %s", (order_id,))
    wait_row(lab, order_id, lambda r: r is None)


def test_a_burst_of_changes_lands_row_for_row(paused_service):
    from lab import sync

    lab = paused_service
    with lab.oltp.connect("shop") as shop:
        customer = shop.execute("select min(customer_id) from customers").fetchone()[0]
        for i in range(200):
            shop.execute("insert into orders(customer_id, status, amount, created_at, updated_at) "
                         "values (%s, 'paid', %s, now(), now())", (customer, Decimal("10.00") + Decimal(i) / 100))
        shop.execute("update orders set status = 'shipped', updated_at = now() "
                     "where order_id in (select order_id from orders order by order_id desc limit 50)")
    sync.wait_in_sync(lab, timeout=60)
    for (src, dst) in sync.compare(lab).values():
        assert src == dst
