"""`lab reset`: from a running lab in any state back to the pristine broken start, in seconds.

What makes it fast: the data comes back as clones of template databases (a file copy), the JVMs keep
running (connectors are stopped, their offsets deleted, and resumed — no worker restart), and the CDC
re-snapshot of ~17k rows takes a few seconds.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from lab import bootstrap, code, lifecycle, ui
from lab.config import Settings
from lab.errors import ExitCode, LabError
from lab.stack import Lab


def _stop_connectors(lab: Lab) -> None:
    """PUT /stop each connector, wait until STOPPED, then DELETE its offsets (KIP-875)."""
    with lab.connect.http() as client:
        for name in lab.connect.connector_names:
            if client.get(f"/connectors/{name}").status_code == 404:
                continue
            client.put(f"/connectors/{name}/stop").raise_for_status()
        for name in lab.connect.connector_names:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                st = client.get(f"/connectors/{name}/status")
                if st.status_code == 404 or st.json()["connector"]["state"] == "STOPPED":
                    break
                time.sleep(0.1)
            if st.status_code == 404:
                continue
            # Tasks may take a moment to release; the offsets API answers 400 until they have. A sink's
            # consumer group must also be empty: after a crash (a killed worker, a restarted broker) the
            # dead consumer stays a member until its session times out (10 s, warehouse-sink.json).
            deadline = time.monotonic() + 60
            while True:
                resp = client.delete(f"/connectors/{name}/offsets")
                if resp.status_code < 400 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            if resp.status_code >= 400:
                raise LabError(f"could not reset the offsets of connector {name}: {resp.text[:200]}",
                               "`lab logs connect`; `lab down && lab up` then `lab reset`", ExitCode.LAB_UNHEALTHY)


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


def _resume_connectors(lab: Lab) -> None:
    _recreate_topics(lab)
    lab.connect.register()  # also recreates a connector deleted by hand
    with lab.connect.http() as client:
        for name in lab.connect.connector_names:
            client.put(f"/connectors/{name}/resume").raise_for_status()
    lab.connect.wait_connectors()


def reset(settings: Settings, seed: int | None = None, keep_code: bool = False) -> Lab:
    started = time.monotonic()
    lab = lifecycle.prepare(settings)
    seed = seed if seed is not None else (bootstrap.current_seed(lab) if lab.warehouse.pid() else None)
    if seed is None:
        from seed.generate import DEFAULT_SEED

        seed = DEFAULT_SEED

    # Anything down (crashed, killed) comes back first: reset works from any state.
    lifecycle.preflight_ports(lab)
    lifecycle.start_servers(lab, seed)
    lab.connect.register()

    with ui.step("orders service and scheduler stopped"), ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda c: c.stop(), [lab.orders, lab.scheduler]))
    lab.orders.resume()
    lab.scheduler.resume()

    if not keep_code:
        saved = code.restore(settings)
        if saved:
            ui.ok(f"your dbt_project/ edits saved to {saved}; shipped models restored")
        else:
            ui.ok("dbt_project/ is the shipped version")
    else:
        ui.ok("dbt_project/ left as it is (--keep-code)")

    build = lifecycle.prepare_build(lab)  # the shipped models, parsed while the data comes back
    with ui.step("connectors stopped, offsets deleted, replication slot dropped, topics deleted"):
        _stop_connectors(lab)
        bootstrap.drop_slot(lab.oltp)
        lab.kafka.delete_topics(lifecycle.CDC_TOPICS)

    with ui.step(f"databases restored from the seed {seed} templates"):
        data = bootstrap.Dataset(seed)
        with ThreadPoolExecutor(2) as pool:
            a = pool.submit(lambda: (bootstrap.ensure_oltp_templates(lab.oltp, data),
                                     bootstrap.clone_oltp(lab.oltp, seed)))
            b = pool.submit(lambda: (bootstrap.ensure_warehouse_template(lab.warehouse, data),
                                     bootstrap.clone_warehouse(lab.warehouse, seed)))
            a.result(), b.result()

    try:
        with ui.step("connectors resumed: Debezium re-snapshots into the warehouse"):
            _resume_connectors(lab)
        lifecycle.start_clock(lab)
    except BaseException:
        build.cancel()
        raise
    lifecycle.start_services(lab, build)
    ui.ok(f"lab reset to seed {seed} in {time.monotonic() - started:.1f} s")
    return lab
