"""`lab reset`: from a running lab in any state back to the pristine broken start, in seconds.

What makes it fast: the data comes back as clones of template databases (a file copy), the JVMs keep
running (connectors are stopped, their offsets deleted, and resumed — no worker restart), and the CDC
re-snapshot of ~17k rows takes a few seconds.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from lab import bootstrap, code, lifecycle, runtime, sync, ui
from lab.config import Settings
from lab.stack import Lab
from seed.story import DEFAULT_SEED


def _recreate_topics(lab: Lab) -> None:
    """Topic deletion is asynchronous in Kafka: creating them again fails until it has finished."""
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + 30
    while True:
        try:
            lab.kafka.create_topics(lifecycle.CDC_TOPICS)
            return
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def reset(settings: Settings, seed: int | None = None, keep_code: bool = False, lab: Lab | None = None) -> Lab:
    """`lab` is given only by the orchestration's unit tests (a lab on the fake runtime)."""
    started = time.monotonic()
    lab = lab or lifecycle.prepare(settings)
    if seed is None:
        current = lab.session.try_read() if lab.warehouse.pid() else None
        seed = current.seed if current and current.seed is not None else DEFAULT_SEED

    # Anything down (crashed, killed) comes back first: reset works from any state.
    lifecycle.preflight_ports(lab)
    lifecycle.start_servers(lab, seed)
    runtime.remember(settings, lab.runtime.name)
    lab.connect.register()

    if not keep_code:
        saved = code.restore(settings)
        if saved:
            ui.ok(f"your dbt_project/ edits saved to {saved}; shipped models restored")
        else:
            ui.ok("dbt_project/ is the shipped version")
    else:
        ui.ok("dbt_project/ left as it is (--keep-code)")

    # The seed's warehouse template may hold the dashboard as dbt built it from the shipped models: with the
    # shipped code, the clone then needs no dbt run; otherwise dbt parses while the data comes back.
    shipped = code.digest(code.ensure_pristine(settings))
    ready_models = code.is_shipped(settings) and bootstrap.models_built(lab.warehouse, seed, shipped)
    build = None if ready_models else lifecycle.prepare_build(lab)
    data = bootstrap.Dataset(seed)
    try:
        with ui.step("orders service and scheduler stopped; connectors stopped, offsets deleted, replication slot "
                     "dropped, topics deleted"), ThreadPoolExecutor(2) as pool:
            services = pool.submit(lab.runtime.stop, [lab.orders.comp, lab.scheduler.comp])
            lab.connect.stop_and_reset_offsets()
            bootstrap.drop_slot(lab.oltp)
            lab.kafka.delete_topics(lifecycle.CDC_TOPICS)
            services.result()
        lab.orders.resume()
        lab.scheduler.resume()

        with ui.step(f"databases restored from the seed {seed} templates"), ThreadPoolExecutor(2) as pool:
            a = pool.submit(lambda: (bootstrap.ensure_oltp_templates(lab.oltp, data),
                                     bootstrap.clone_oltp(lab.oltp, seed)))
            b = pool.submit(lambda: (bootstrap.ensure_warehouse_template(lab.warehouse, data),
                                     bootstrap.clone_warehouse(lab.warehouse, seed)))
            a.result(), b.result()

        # The warehouse's template holds raw.* as CDC delivered it from this seed's data: Debezium then
        # resumes streaming at a slot made for the restored database. Otherwise it re-snapshots (and the
        # template keeps what the snapshot delivered, for the next reset).
        resume_streaming = bootstrap.raw_captured(lab.warehouse, seed)
        what = "connectors resumed: Debezium streams from a new slot" if resume_streaming else \
            "connectors resumed: Debezium re-snapshots into the warehouse"
        with ui.step(what):
            _recreate_topics(lab)
            if resume_streaming:
                bootstrap.refresh_landing_times(lab.warehouse)
                lsn = bootstrap.create_slot(lab.oltp)
                lab.connect.set_source_offset(lsn, 0, int(time.time() * 1_000_000))
            lab.connect.resume_all()
        bootstrap.stamp(lab)
        bootstrap.forget_queries(lab)
        lab.session.begin(seed, settings.lab_id)
        lab.session.record("reset", seed=seed)
        if not resume_streaming:
            with ui.step("warehouse raw tables equal to the OLTP tables, row for row"):
                sync.wait_in_sync(lab)
            bootstrap.capture_raw(lab.warehouse, seed)
    except BaseException:
        if build is not None:
            build.cancel()
        raise
    lifecycle.start_services(lab, build)
    if not bootstrap.models_built(lab.warehouse, seed, shipped):  # (once per shipped project and seed)
        with ui.step("dbt: the shipped models built into the seed's template (for the next resets)"):
            bootstrap.build_models(lab, seed, code.ensure_pristine(settings), shipped)
    ui.ok(f"lab reset to seed {seed} in {time.monotonic() - started:.1f} s")
    return lab
