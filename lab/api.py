"""The incident API: the lab's verbs, as the CLI, the workspace and the checker call them.

    open / up / down / reset         the lab's lifecycle
    status / health                  the component map
    tile / erp / revenue_by_day      the figures
    symptoms                         the six symptoms on the table, with their evidence
    session / clock / next_hint      the learner's session (one typed owner: lab/session.py)
    create_order / close_order /     shop events through the orders service's primitives, on the story
    pause_orders / resume_orders     clock; the shop's writer paused or running
    wait_in_sync                     the CDC watermark: the warehouse equals the OLTP tables row for row
    check                            the checker, in its own process (`python -m checks`), criteria streamed

Callers get these and nothing of the modules behind them; `lab` itself never imports `checks`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lab import clock as _clock
from lab import hints as _hints
from lab import incident, shop, sync
from lab.config import Settings, settings
from lab.session import Session
from lab.stack import Lab, build

__all__ = ["Clock", "Lab", "Session", "check", "clock", "close_order", "create_order", "down", "erp", "health",
           "hints_shown", "next_hint", "open", "pause_orders", "reset", "resume_orders", "revenue_by_day", "session",
           "status", "symptoms", "tile", "up", "wait_in_sync"]


def open(cfg: Settings | None = None) -> Lab:  # noqa: A001 - the verb reads best as `api.open()`
    """The lab described by these settings (nothing is started)."""
    return build(cfg or settings())


def up(cfg: Settings, seed: int | None = None) -> Lab:
    from lab import lifecycle

    return lifecycle.up(cfg, seed)


def down(cfg: Settings, wipe: bool = False) -> None:
    from lab import lifecycle

    lifecycle.down(cfg, wipe)


def reset(cfg: Settings, seed: int | None = None, keep_code: bool = False) -> Lab:
    from lab import reset as _reset

    return _reset.reset(cfg, seed=seed, keep_code=keep_code)


def status(lab: Lab):
    from lab import status as _status

    return _status.collect(lab)


def health(lab: Lab):
    return lab.health()


def tile(lab: Lab, schema: str = "analytics") -> Decimal | None:
    return incident.tile(lab, schema)


def erp(lab: Lab) -> Decimal:
    return incident.erp(lab)


def revenue_by_day(lab: Lab) -> list[dict[str, Any]]:
    return incident.revenue_by_day(lab)


def symptoms(lab: Lab) -> dict[str, Any]:
    return incident.symptoms(lab)


def session(lab: Lab) -> Session:
    return lab.session.read()


@dataclass(frozen=True)
class Clock:
    started_at: datetime | None
    story_now: datetime
    board_meeting: datetime
    remaining_s: float | None
    text: str


def clock(lab: Lab) -> Clock:
    s = lab.session.read()
    if not s.clock_started_at:
        return Clock(None, s.story_now(), _clock.BOARD_MEETING, None, "the clock has not started")
    return Clock(s.clock_started_at, s.story_now(), _clock.BOARD_MEETING,
                 _clock.remaining(s.clock_started_at).total_seconds(), _clock.fmt_remaining(s.clock_started_at))


def next_hint(lab: Lab) -> tuple[int, int, str]:
    return _hints.next_hint(lab)


def hints_total() -> int:
    return len(_hints.ladder())


def hints_shown(lab: Lab) -> list[str]:
    """The texts of the hints this session has used, in order."""
    return _hints.ladder()[:lab.session.read().hints_used]


def create_order(lab: Lab, amount: Decimal, customer: int | None = None, status: str = "paid") -> tuple[int, int]:
    return shop.create_order(lab, amount, customer, status)


def close_order(lab: Lab, kind: str, order_id: int) -> None:
    shop.close_order(lab, kind, order_id)


# The probe's primitives: the orders service's own connections, customers, amounts and eligible orders.
shop_connections = shop.connections
story_now = shop.story_now
pick_customer = shop.pick_customer
random_amount = shop.random_amount
eligible_orders = shop.eligible


def record_solved(lab: Lab, facts: dict[str, Any]) -> bool:
    return lab.session.record_solved(facts)


def record_event(lab: Lab, kind: str, **detail: Any) -> None:
    """One entry of the incident timeline (`lab debrief`)."""
    lab.session.record(kind, **detail)


def incident_facts(lab: Lab) -> dict[str, Any]:
    """Time to detect, time to fix (the first passing check), checks made and hints used, in seconds on the
    lab clock — what `lab debrief` shows and the reports carry."""
    from lab import timeline

    return timeline.facts_of(lab, lab.session.read())


def shipped_project(cfg: Settings) -> Path:
    """The shipped dbt_project/ as the lab first saw it (what `lab reset` restores)."""
    from lab import code

    return code.ensure_pristine(cfg)


def pause_orders(lab: Lab) -> None:
    lab.orders.pause()


def resume_orders(lab: Lab) -> None:
    lab.orders.resume()


def wait_in_sync(lab: Lab, timeout: float = 120) -> float:
    return sync.wait_in_sync(lab, timeout)


def check(cfg: Settings, project_dir: Path | None = None, args: list[str] | None = None,
          on_event: Callable[[dict[str, Any]], None] | None = None) -> int:
    """Run the checker on a project (default dbt_project/) in its own process, as `lab check` does.
    With on_event, each criterion is handed over as the checker decides it ({"event": "criterion", …}),
    then the verdict ({"event": "report", …}). Returns the checker's exit code (0 pass, 1 fail, 2 error)."""
    argv = [sys.executable, "-m", "checks", "check", *(["--project-dir", str(project_dir)] if project_dir else []),
            *(args or [])]
    env = {**os.environ, **cfg.env()}
    if on_event is None:
        return subprocess.run(argv, env=env, cwd=cfg.root).returncode
    argv += ["--events", "-"]
    verdict = False
    with tempfile.TemporaryFile("w+") as errors, subprocess.Popen(argv, env=env, cwd=cfg.root,
                                                                 stdout=subprocess.PIPE, stderr=errors,
                                                                 text=True) as proc:
        for line in proc.stdout or []:
            if line.startswith("{"):
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                verdict = verdict or event.get("event") == "report"
                on_event(event)
        code = proc.wait()
        if not verdict:  # the checker stopped before a verdict (the lab unhealthy, say): its one line says why
            errors.seek(0)
            lines = [ln for ln in errors.read().splitlines() if ln.startswith("Error: ")]
            on_event({"event": "error", "exit_code": code,
                      "message": lines[-1] if lines else f"the checker stopped without a verdict (exit {code})"})
        return code
