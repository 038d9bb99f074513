"""Kill -9 each component in turn while the orders service writes (LAB_SPEC §7, reliability).

For each victim: `lab status` reports it down while it is down; `lab up` brings the lab back; then, with
the service paused, the warehouse equals the OLTP tables row for row (nothing lost, nothing duplicated)
and a fresh dbt build on the scheduler's path gives the tile that the models' logic gives on the OLTP data.
No timing is asserted here: how fast the lab recovers is the benchmark's business (bench/).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from lab import process, scheduler, sync
from lab.stack import Lab
from tests.conftest import run_lab

pytestmark = pytest.mark.faults

# The service writes about three changes a second (its loop ticks every 0.2 s), first order at once.
BUSY = {"LAB_ORDERS_PER_MINUTE": "240", "LAB_FIRST_ORDER_AFTER": "0"}
VICTIMS = ["oltp", "kafka", "connect", "warehouse", "orders-service"]

# The shipped models' logic, written independently of dbt_project/ (stg_orders → fct_orders →
# revenue_quarterly): Q2 by the UTC date of created_at, revenue unless status is cancelled or refunded.
Q2_BY_THE_MODELS = """
    select coalesce(sum(amount) filter (where status not in ('cancelled', 'refunded')), 0)
    from orders
    where (created_at at time zone 'UTC')::date >= date '2026-04-01'
      and (created_at at time zone 'UTC')::date < date '2026-07-01'
"""


@pytest.fixture(scope="module")
def busy_lab(running_lab: Lab) -> Iterator[Lab]:
    """The session lab with its orders service restarted at a higher rate; put back as it was after."""
    saved = {key: os.environ.get(key) for key in BUSY}
    os.environ.update(BUSY)  # run_lab passes os.environ on, and `lab up` passes it to the service
    running_lab.orders.stop()
    running_lab.orders.resume()
    run_lab("up")
    try:
        yield running_lab
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        running_lab.orders.resume()
        running_lab.orders.stop()
        run_lab("up", check=False)


def newest_order(lab: Lab) -> int:
    with lab.oltp.connect("shop") as shop:
        return int(shop.execute("select coalesce(max(order_id), 0) from orders").fetchone()[0])


def wait_for_writes(lab: Lab, count: int, timeout: float = 60) -> None:
    """Until the orders service has written `count` more orders."""
    start = newest_order(lab)
    deadline = time.monotonic() + timeout
    while newest_order(lab) < start + count:
        assert time.monotonic() < deadline, f"the orders service wrote fewer than {count} orders in {timeout:.0f} s"
        time.sleep(0.3)


def status_report() -> tuple[int, dict]:
    proc = run_lab("status", "--json", check=False)
    return proc.returncode, json.loads(proc.stdout)


def component_health(report: dict, name: str) -> dict:
    return next(c for c in report["components"] if c["name"] == name)


@pytest.mark.parametrize("victim", VICTIMS)
def test_kill9_while_writing_then_lab_up_loses_and_duplicates_nothing(busy_lab: Lab, victim: str) -> None:
    lab = busy_lab
    comp = lab.component(victim)
    wait_for_writes(lab, 5)

    pid = comp.pid()
    assert pid, f"{victim} is not running before the kill"
    process.kill9(pid)
    deadline = time.monotonic() + 10
    while comp.pid() == pid and time.monotonic() < deadline:
        time.sleep(0.05)

    code, report = status_report()
    health = component_health(report, victim)
    assert code == 2, f"`lab status` exited {code} with {victim} killed"
    assert health["healthy"] is False and health["pid"] is None, health
    assert report["healthy"] is False
    if victim not in ("oltp", "orders-service"):
        wait_for_writes(lab, 5)  # the shop keeps selling while the pipeline is broken

    run_lab("up")
    code, report = status_report()
    assert code == 0, f"after `lab up`: {json.dumps(report['components'], default=str)} {report['connectors']}"
    assert component_health(report, victim)["pid"] not in (None, pid)
    if victim == "orders-service":
        wait_for_writes(lab, 3)  # the restarted service writes again

    lab.orders.pause()
    try:
        time.sleep(1.0)  # an order in flight when the flag appeared commits
        sync.wait_in_sync(lab, timeout=180)
        for table, (oltp, warehouse) in sync.compare(lab).items():
            assert oltp == warehouse, f"{table}: OLTP {oltp} != warehouse {warehouse}"
        with lab.warehouse.connect("warehouse") as wh:
            dupes = wh.execute("select count(*) - count(distinct order_id) from raw.orders").fetchone()[0]
        assert dupes == 0

        # The tile still says what the models say: rebuilt on the scheduler's path (dbt run + dbt test),
        # it equals the models' logic computed straight on the OLTP orders.
        assert scheduler.build_and_record(lab, trigger="fault-suite"), "dbt run/test failed after recovery"
        with lab.oltp.connect("shop") as shop:
            expected = Decimal(shop.execute(Q2_BY_THE_MODELS).fetchone()[0])
        with lab.warehouse.connect("warehouse") as wh:
            tile = wh.execute("select net_revenue from analytics.revenue_quarterly "
                              "where quarter = '2026-Q2'").fetchone()[0]
        assert tile == expected
    finally:
        lab.orders.resume()
