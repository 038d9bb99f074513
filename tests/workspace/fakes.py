"""A stand-in for the incident API (lab/workspace/backend.py), for the workspace's unit tests: the figures
of the default seed, a healthy map, a check that streams three criteria and passes."""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lab.components.base import Health

with warnings.catch_warnings():  # Starlette 1.x would rather its test client ran on httpx2; httpx works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

__all__ = ["BASE", "PORT", "TOKEN", "FakeBackend", "TestClient", "guard_report"]

PORT = 18999
TOKEN = "test-token-0123456789abcdef"
BASE = f"http://127.0.0.1:{PORT}"


@dataclass
class FakeReport:
    components: list[Health]
    connectors: dict[str, str]
    end_offsets: dict[str, int]
    sink_lag: dict[str, int]
    rows: dict[str, tuple[int | None, int | None]]
    incident: dict[str, Any]
    foreign: dict[str, str] = field(default_factory=dict)
    runtime: str = "fake"

    @property
    def healthy(self) -> bool:
        return all(h.healthy for h in self.components)


@dataclass
class FakeClock:
    started_at: datetime | None
    story_now: datetime
    board_meeting: datetime
    remaining_s: float | None
    text: str


@dataclass
class FakeSession:
    hints_used: int = 0
    solved: dict[str, Any] | None = None


INCIDENT = {
    "tile": Decimal("4206000.00"), "erp": Decimal("3690000.00"), "delta": Decimal("516000.00"),
    "fct_orders_rows": 14973, "raw_orders_rows": 14973, "freshness_age_s": 4.2, "freshness_pass": True,
    "dbt_success_streak": 144, "dbt_runs": 144,
    "dbt_latest": {"status": "success", "started_at": "2026-06-25T23:00:06+00:00", "models": 4, "tests_passed": 39,
                   "tests_failed": 0, "trigger": "schedule"},
    "alerts": 0, "hints_used": 0, "seed": 516, "solved": None,
    "migrations": [{"version": "20260424_0900_add_orders_refunded_at",
                    "description": "add orders.refunded_at timestamptz null, for the refund flow rework",
                    "applied_at": "2026-04-24T09:04:18+00:00"}],
    "cdc_lag_ms": 0, "cdc_pending": 0,
}


def guard_report(status: str = "pass") -> dict[str, Any]:
    return {"status": status, "message": None, "tests": [
        {"name": "3. the tile equals the ERP to the cent, at one watermark", "key": "tile_equals_erp", "criterion": 3,
         "required": True, "status": status, "message": None if status == "pass" else "tile $4,206,000.00 ≠ ERP"},
        {"name": "regression guard", "key": "regression_guard", "criterion": None, "required": False,
         "status": "pass", "earned": 3.0, "max_score": 4.0, "message": "3/4 wrong variants caught",
         "details": {"variants": [
             {"variant": "defective", "description": "the original defective models", "caught": True,
              "caught_by": ["assert_refunded_orders_carry_no_revenue"], "problem": None},
             {"variant": "cancellations_counted", "description": "cancellations counted as revenue",
              "caught": False, "caught_by": [], "problem": None}]}}],
        "lab": {"time_to_fix_s": 372.4, "hints_used": 1, "duration_s": 31.0}}


class FakeBackend:
    quarter = "2026-Q2"

    def __init__(self) -> None:
        self.hints = 0
        self.paused = False
        self.fail_log = False
        self.check_gate = threading.Event()  # a test holds the check here to press Ship again
        self.check_gate.set()
        self.check_status = "pass"
        self.resets: list[tuple[int | None, bool]] = []

    def status(self) -> FakeReport:
        comps = [Health(n, True, p, 100 + i, "ok", f"pid {100 + i}") for i, (n, p) in enumerate(
            [("oltp", 15430), ("warehouse", 15431), ("kafka", 19092), ("connect", 18083), ("orders-service", None),
             ("scheduler", None)])]
        return FakeReport(comps, {"shop-source": "RUNNING (task 0 RUNNING)",
                                  "warehouse-sink": "RUNNING (task 0 RUNNING)"},
                          {"shop.public.orders": 14973, "shop.public.customers": 2489},
                          {"shop.public.orders": 0, "shop.public.customers": 0}, {}, dict(INCIDENT))

    def revenue_by_day(self) -> list[dict[str, Any]]:
        return [{"date": "2026-06-19", "erp": "3888870.92", "dashboard": "3888870.92"},
                {"date": "2026-06-20", "erp": "3866047.13", "dashboard": "3952752.27"},
                {"date": "2026-06-21", "erp": "3836630.57", "dashboard": "4010448.27"}]

    def clock(self) -> FakeClock:
        now = datetime(2026, 6, 26, 8, 47, tzinfo=UTC)
        return FakeClock(now, now, now + timedelta(minutes=13), 780.0, "13:00 left before the board meeting")

    def session(self) -> FakeSession:
        return FakeSession(self.hints)

    def hints_total(self) -> int:
        return 6

    def next_hint(self) -> tuple[int, int, str]:
        self.hints = min(self.hints + 1, 6)
        return self.hints, 6, f"hint number {self.hints}"

    def pause_orders(self) -> None:
        self.paused = True

    def resume_orders(self) -> None:
        self.paused = False

    def check(self, on_event) -> int:
        on_event({"event": "phase", "name": "build"})
        on_event({"event": "criterion", "number": 2, "key": "build", "title": "dbt build succeeds", "status": "pass",
                  "message": None, "score": 1, "max_score": 1, "required": True})
        self.check_gate.wait(10)
        on_event({"event": "criterion", "number": 3, "key": "tile_equals_erp", "title": "the tile equals the ERP",
                  "status": self.check_status, "message": None, "score": 1, "max_score": 1, "required": True})
        on_event({"event": "report", "status": self.check_status, "report": guard_report(self.check_status)})
        return 0 if self.check_status == "pass" else 1

    def reset(self, seed: int | None, keep_code: bool) -> None:
        self.resets.append((seed, keep_code))

    def describe(self, name: str) -> str:
        return f"the {name} component"

    def log_tail(self, name: str, lines: int = 40) -> tuple[str, str]:
        if self.fail_log:
            raise RuntimeError("secret-internal-detail at /srv/secret/path.py")
        return f".lab/logs/{name}.log", f"last line of {name}"

    def beat(self) -> None:
        pass
