"""One watermark for the tile and the ERP: nothing writes, the warehouse equals the OLTP database row
for row, and finance's ERP export equals the ledger. Every wait is explicit and bounded; a timeout is
an ERROR (the pipeline did not settle), never a FAIL.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg

from checks.outcome import CheckError
from lab import api
from lab.api import Lab
from lab.errors import LabError

ORDER_COLUMNS = "order_id, customer_id, status, amount, currency, created_at, updated_at, refunded_at"


@contextlib.contextmanager
def services_paused(lab: Lab, timeout: float = 90) -> Iterator[None]:
    """Pause the orders service and the dbt scheduler for the check, and resume them after (also on
    failure) — unless someone had paused them already."""
    services = [lab.orders, lab.scheduler]
    was_paused = {svc.name: svc.paused for svc in services}
    since = time.time()
    for svc in services:
        svc.pause()
    try:
        for svc in services:
            _wait_quiet(svc, since, timeout)
        yield
    finally:
        for svc in services:
            if not was_paused[svc.name]:
                svc.resume()


def _wait_quiet(svc, since: float, timeout: float) -> None:
    """A service beats at the top of its loop and checks the pause flag after that beat. A beat newer
    than the flag therefore proves that any write (or dbt run) begun before the flag has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = svc.heartbeat
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime > since:
                return
        time.sleep(0.05)
    raise CheckError(f"the {svc.name} did not pause within {timeout:.0f} s",
                     f"`lab logs {svc.name}` says what it is doing; run the check again")


def settle(lab: Lab, timeout: float = 60) -> float:
    """Wait until the warehouse equals the OLTP tables and the ERP export equals the ledger."""
    start = time.monotonic()
    try:
        api.wait_in_sync(lab, timeout)
    except LabError as exc:
        raise CheckError(exc.problem, "`lab status` shows which component is behind; run the check again") \
            from exc
    _wait_erp_export(lab, max(timeout - (time.monotonic() - start), 10))
    return time.monotonic() - start


def _erp_totals(lab: Lab) -> tuple[tuple[Decimal, int], tuple[Decimal, int]]:
    with lab.oltp.connect("erp") as erp:
        ledger = erp.execute("select coalesce(sum(amount), 0), count(*) from ledger").fetchone() or (0, 0)
    with lab.warehouse.connect("warehouse") as wh:
        export = wh.execute("select coalesce(sum(net_revenue), 0), coalesce(sum(entries), 0) "
                            "from erp.daily_control_totals").fetchone() or (0, 0)
    return (Decimal(ledger[0]), int(ledger[1])), (Decimal(export[0]), int(export[1]))


def _wait_erp_export(lab: Lab, timeout: float) -> None:
    """Finance exports the ledger's control totals every few seconds; a learner's reconciliation test
    reads that export, so it must have caught up with the ledger before tests run."""
    deadline = time.monotonic() + timeout
    ledger = export = None
    while time.monotonic() < deadline:
        ledger, export = _erp_totals(lab)
        if ledger == export:
            return
        time.sleep(0.25)
    raise CheckError(f"finance's ERP export did not catch up with the ledger within {timeout:.0f} s "
                     f"(ledger {ledger}, export {export})",
                     "`lab logs orders-service` says why (it runs the export); run the check again")


def wait_rows(lab: Lab, order_ids: list[int], timeout: float = 60) -> float:
    """The probe's watermark: every order it touched is in the warehouse in its final OLTP state."""
    start = time.monotonic()
    query = f"select {ORDER_COLUMNS} from {{}} where order_id = any(%s) order by order_id"
    with lab.oltp.connect("shop") as shop:
        shop.execute("set timezone = 'UTC'")
        want = shop.execute(query.format("orders"), (order_ids,)).fetchall()
    have: list[tuple] = []
    while time.monotonic() - start < timeout:
        try:
            with lab.warehouse.connect("warehouse") as wh:
                wh.execute("set timezone = 'UTC'")
                have = wh.execute(query.format("raw.orders"), (order_ids,)).fetchall()
        except psycopg.OperationalError:
            have = []
        if have == want:
            return time.monotonic() - start
        time.sleep(0.1)
    missing = len({r[0] for r in want} - {r[0] for r in have if r in want})
    raise CheckError(f"CDC did not deliver the probe's changes to the warehouse within {timeout:.0f} s "
                     f"({missing} of {len(want)} orders not in their final state)",
                     "`lab status` shows the connector state and sink lag; run the check again")
