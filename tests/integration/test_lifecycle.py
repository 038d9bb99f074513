"""`lab up` is idempotent, survives a Connect crash mid-write, and `lab down` leaves nothing behind."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from lab import process, sync
from tests.conftest import run_lab

pytestmark = pytest.mark.integration


def pids(lab) -> dict[str, int | None]:
    return {c.name: c.pid() for c in lab.all}


def test_lab_up_twice_changes_nothing(running_lab):
    before = pids(running_lab)
    assert all(before.values()), before
    out = run_lab("up").stdout
    assert "seeded" not in out
    assert pids(running_lab) == before
    assert running_lab.connect.register() == []  # every connector already has exactly its config
    for name in running_lab.connect.connector_names:
        assert running_lab.connect.running(running_lab.connect.status(name))


class Writer(threading.Thread):
    """Inserts and updates orders in the OLTP database at a steady pace, like a busy service."""

    def __init__(self, lab, count: int, pause: float) -> None:
        super().__init__(daemon=True)
        self.lab, self.count, self.pause = lab, count, pause
        self.written = 0
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            with self.lab.oltp.connect("shop") as shop:
                customer = shop.execute("select min(customer_id) from customers").fetchone()[0]
                for i in range(self.count):
                    (oid,) = shop.execute(
                        "insert into orders(customer_id, status, amount, created_at, updated_at) "
                        "values (%s, 'paid', %s, now(), now()) returning order_id",
                        (customer, Decimal("20.00") + Decimal(i) / 100)).fetchone()
                    if i % 3 == 0:
                        shop.execute("update orders set status = 'shipped', updated_at = now() "
                                     "where order_id = %s", (oid,))
                    self.written += 1
                    time.sleep(self.pause)
        except Exception as exc:  # noqa: BLE001 - surfaced by the test
            self.error = exc


def test_connect_killed_while_rows_are_written_loses_and_duplicates_nothing(paused_service):
    lab = paused_service
    writer = Writer(lab, count=400, pause=0.01)
    writer.start()
    while writer.written < 100:
        time.sleep(0.05)
    victim = lab.connect.pid()
    process.kill9(victim)
    writer.join(timeout=120)
    assert writer.error is None and writer.written == 400
    health = {h.name: h for h in (c.health() for c in lab.all)}
    assert not health["connect"].healthy  # status saw it down

    run_lab("up")
    assert lab.connect.pid() not in (None, victim)
    sync.wait_in_sync(lab, timeout=90)
    for table, (src, dst) in sync.compare(lab).items():
        assert src == dst, table
    with lab.warehouse.connect("warehouse") as wh:
        assert wh.execute("select count(*) - count(distinct order_id) from raw.orders").fetchone()[0] == 0


def test_lab_down_leaves_no_process_then_up_resumes_with_the_data(running_lab, lab_settings):
    with running_lab.oltp.connect("shop") as shop:
        orders_before = shop.execute("select count(*) from orders").fetchone()[0]
    run_lab("down")
    assert process.lab_processes(lab_settings.lab_dir) == []
    assert all(pid is None for pid in pids(running_lab).values())
    run_lab("up")
    with running_lab.oltp.connect("shop") as shop:
        assert shop.execute("select count(*) from orders").fetchone()[0] >= orders_before
    assert all(pids(running_lab).values())
