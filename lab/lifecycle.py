"""`lab up` and `lab down`: start what is not running, in dependency order and in parallel where safe."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from lab import install, process, sync, ui
from lab.config import Settings
from lab.stack import Lab, build

CDC_TOPICS = ["shop.public.orders", "shop.public.customers"]


def prepare(settings: Settings) -> Lab:
    """Install what is missing (Java check, PostgreSQL binaries, jars) and describe the lab."""
    java = install.ensure_java()
    install.ensure_postgres()
    install.ensure_jars(settings)
    return build(settings, java)


def up(settings: Settings, seed: int | None = None) -> Lab:
    from lab import bootstrap  # needs the seed package; `lab down` must work without it
    from seed import generate as seedgen

    started = time.monotonic()
    lab = prepare(settings)
    seed = seedgen.DEFAULT_SEED if seed is None else seed

    # Both PostgreSQL servers and the broker need nothing from each other: start them together.
    # Connect's JVM starts as soon as the broker process is spawned (its admin client waits for the broker).
    def postgres(server, fresh_ready, boot):
        t0 = time.monotonic()
        server.start()
        server.wait_ready()
        seeded = False
        if not fresh_ready():
            boot()
            seeded = True
        return f"{server.name} PostgreSQL on 127.0.0.1:{server.port} (pid {server.pid()})" + \
            (", seeded" if seeded else "") + f" [dim]({time.monotonic() - t0:.1f} s)[/]"

    dataset: list = []

    def ds():
        if not dataset:
            dataset.append(seedgen.generate(seed))
        return dataset[0]

    def kafka_then_connect() -> list[str]:
        t0 = time.monotonic()
        lab.kafka.start()
        lab.connect.start()
        lab.kafka.wait_ready()
        lines = [f"Kafka broker (KRaft) on 127.0.0.1:{lab.kafka.port} (pid {lab.kafka.pid()}) "
                 f"[dim]({time.monotonic() - t0:.1f} s)[/]"]
        lab.connect.wait_ready()
        lines.append(f"Kafka Connect on 127.0.0.1:{lab.connect.port} (pid {lab.connect.pid()}) "
                     f"[dim]({time.monotonic() - t0:.1f} s)[/]")
        return lines

    ds()  # generate before the threads: it is CPU-bound and shared
    with ui.console.status("starting PostgreSQL ×2, Kafka, Kafka Connect …"), ThreadPoolExecutor(3) as pool:
        futs = [
            pool.submit(postgres, lab.oltp, lambda: bootstrap.oltp_ready(lab),
                        lambda: bootstrap.bootstrap_oltp(lab, ds())),
            pool.submit(postgres, lab.warehouse, lambda: bootstrap.warehouse_ready(lab),
                        lambda: bootstrap.bootstrap_warehouse(lab, ds(), seed)),
            pool.submit(kafka_then_connect),
        ]
        for fut in futs:
            result = fut.result()
            for line in result if isinstance(result, list) else [result]:
                ui.ok(line)

    with ui.step("connectors shop-source (Debezium PostgreSQL) and warehouse-sink (JDBC) RUNNING"):
        lab.kafka.create_topics(CDC_TOPICS)
        lab.connect.register()
        lab.connect.wait_connectors()
    if not lab.orders.pid():
        with ui.step("warehouse raw tables equal to the OLTP tables, row for row"):
            sync.wait_in_sync(lab)
    with ui.step("orders service writing"):
        lab.orders.start()
        lab.orders.wait_ready()
    ui.ok(f"lab up in {time.monotonic() - started:.1f} s")
    return lab


def down(settings: Settings, wipe: bool = False) -> None:
    lab = build(settings)
    lab.orders.stop()
    lab.connect.stop()  # before the broker, so it commits its offsets
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda c: c.stop(), [lab.kafka, lab.oltp, lab.warehouse]))
    # Sweep anything of this lab that escaped its pidfile (e.g. a pidfile deleted by hand).
    for proc in process.lab_processes(settings.lab_dir):
        ui.warn(f"stopping leftover lab process {proc.pid}: {' '.join(proc.cmdline())[:100]}")
        process.stop(proc.pid, timeout=10)
    if wipe:
        import shutil

        shutil.rmtree(settings.lab_dir, ignore_errors=True)
