"""The dbt scheduler: production runs of the models, like the hourly job the data team has.

Every LAB_DBT_EVERY seconds (default 600) it builds the models (`dbt run` as the transformer role, then
`dbt test` as the tester role) and records the run in ops.dbt_runs, timed on the story clock.
Run by the lab as `python -m lab.scheduler`.
"""

from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime

import psycopg

from lab import dbt, watcher
from lab.config import settings as load_settings
from lab.stack import build
from seed import story

log = logging.getLogger("scheduler")


def build_and_record(lab, trigger: str = "schedule") -> bool:
    started = datetime.now(UTC)
    session = lab.session.try_read()
    clock_start = (session.clock_started_at if session else None) or started
    run = dbt.run(lab.settings, ["run"], target="transform", target_path=lab.settings.lab_dir / "dbt" / "scheduled")
    test = dbt.run(lab.settings, ["test"], target="test", target_path=lab.settings.lab_dir / "dbt" / "scheduled-test") \
        if run.ok else None
    ok = run.ok and test is not None and test.ok
    finished = datetime.now(UTC)
    models = len(run.by_status("success"))
    passed = len(test.by_status("pass")) if test else 0
    failed = len(test.by_status("fail", "error")) if test else 0
    with lab.warehouse.connect("warehouse") as conn:
        conn.execute("insert into ops.dbt_runs(started_at, finished_at, status, models_built, tests_passed, "
                     "tests_failed, trigger) values (%s, %s, %s, %s, %s, %s, %s)",
                     (story.story_now(clock_start, started), story.story_now(clock_start, finished),
                      "success" if ok else "error", models, passed, failed, trigger))
    log.info("dbt %s: %s models, %s tests passed, %s failed", "success" if ok else "error", models, passed, failed)
    return ok


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    lab = build(load_settings())
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    every = lab.settings.dbt_every_s
    log.info("started: a production dbt run every %g s; watching dbt_project/ for the incident timeline", every)
    next_run = time.monotonic() + every
    watch = watcher.Watcher(lab)
    next_watch = 0.0
    while not stopping:
        lab.scheduler.beat()
        if time.monotonic() >= next_watch:
            try:
                watch.tick()  # the learner's edits, dbt runs and first refunded_at query (lab debrief)
            except (psycopg.Error, OSError) as exc:
                log.warning("watcher: %s", str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
            next_watch = time.monotonic() + 3
        if time.monotonic() >= next_run and not lab.scheduler.paused:
            try:
                build_and_record(lab)
            except psycopg.Error as exc:
                log.warning("warehouse unavailable (%s); will retry", str(exc).strip().splitlines()[0])
            next_run = time.monotonic() + every
        time.sleep(1)
    log.info("stopped")


if __name__ == "__main__":
    main()
