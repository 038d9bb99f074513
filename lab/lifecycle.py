"""`lab up` and `lab down`: start what is not running, in dependency order and in parallel where safe."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from lab import dbt, install, process, sync, ui
from lab.config import Settings
from lab.errors import ExitCode, LabError
from lab.stack import Lab, build

CDC_TOPICS = ["shop.public.orders", "shop.public.customers"]


def prepare(settings: Settings) -> Lab:
    """Install what is missing (Java check, PostgreSQL binaries, jars) and describe the lab."""
    if settings.runtime == "docker":
        from lab.runtime import docker

        if not docker.engine_answers():
            raise LabError("LAB_RUNTIME=docker, but no Docker engine answers", "start Docker, or unset LAB_RUNTIME "
                           "to use the native runtime", ExitCode.LAB_UNHEALTHY)
        with ui.step("docker compose: PostgreSQL ×2, Kafka, Kafka Connect (stack/compose.yaml)"):
            docker.compose(settings, "up", "-d", "--wait")
        return build(settings)
    java = install.ensure_java()
    install.ensure_postgres()
    install.ensure_jars(settings)
    return build(settings, java)


def preflight_ports(lab: Lab) -> None:
    """Refuse before starting anything if a port of a stopped component is taken."""
    if lab.settings.runtime == "docker":
        return  # compose publishes the ports and says so itself
    for comp in (lab.oltp, lab.warehouse, lab.kafka, lab.connect):
        if not comp.pid():
            process.require_free_port(comp.port, comp.name)
    if not lab.kafka.pid():
        process.require_free_port(lab.settings.ports["kafka_controller"], "kafka-controller")


def start_servers(lab: Lab, seed: int) -> bool:
    """PostgreSQL ×2 (seeded on first use), Kafka and Connect: started together, each waited for.
    Returns True when the warehouse was seeded now (a fresh incident)."""
    from lab import bootstrap

    data = bootstrap.Dataset(seed)
    fresh: list[bool] = []

    def oltp() -> str:
        t0 = time.monotonic()
        lab.oltp.start()
        lab.oltp.wait_ready()
        seeded = not bootstrap.oltp_ready(lab)
        if seeded:
            bootstrap.ensure_oltp_templates(lab.oltp, data)
            bootstrap.clone_oltp(lab.oltp, seed)
        return _line(lab.oltp, "OLTP PostgreSQL (shop, erp)", t0, seeded)

    def warehouse() -> str:
        t0 = time.monotonic()
        lab.warehouse.start()
        lab.warehouse.wait_ready()
        seeded = not bootstrap.warehouse_ready(lab)
        if seeded:
            bootstrap.ensure_warehouse_template(lab.warehouse, data)
            bootstrap.clone_warehouse(lab.warehouse, seed)
            fresh.append(True)
        return _line(lab.warehouse, "warehouse PostgreSQL", t0, seeded)

    def kafka_then_connect() -> list[str]:
        # Connect's JVM boots while the broker does; its admin client waits for the broker.
        t0 = time.monotonic()
        lab.kafka.start()
        lab.connect.start()
        lab.kafka.wait_ready()
        lines = [_line(lab.kafka, "Kafka broker (KRaft)", t0)]
        lab.connect.wait_ready()
        lines.append(_line(lab.connect, "Kafka Connect worker", t0))
        return lines

    with ui.console.status("starting PostgreSQL ×2, Kafka, Kafka Connect …"), ThreadPoolExecutor(3) as pool:
        futs = [pool.submit(oltp), pool.submit(warehouse), pool.submit(kafka_then_connect)]
        errors = []
        for fut in futs:
            try:
                result = fut.result()
            except LabError as exc:
                errors.append(exc)
                continue
            for line in result if isinstance(result, list) else [result]:
                ui.ok(line)
        if errors:
            raise errors[0]
    return bool(fresh)


def _line(comp, what: str, t0: float, seeded: bool = False) -> str:
    return (f"{what} on 127.0.0.1:{comp.port} (pid {comp.pid()})" + (", seeded" if seeded else "")
            + f" [dim]({time.monotonic() - t0:.1f} s)[/]")


def start_pipeline(lab: Lab) -> None:
    with ui.step("connectors shop-source (Debezium PostgreSQL) and warehouse-sink (JDBC) RUNNING"):
        lab.kafka.create_topics(CDC_TOPICS)
        lab.connect.register()
        lab.connect.resume_stopped()  # e.g. left STOPPED by an interrupted `lab reset`
        lab.connect.wait_connectors()


def prepare_build(lab: Lab) -> dbt.PreparedRun:
    """`dbt run` of the models for the dashboard, started ahead: it imports dbt and parses the models while
    the warehouse catches up, and builds when `start_services` says go."""
    # The lab's own target path, so dbt's partial parsing (it re-parses whatever changed) may reuse it.
    return dbt.PreparedRun(lab.settings, ["run"], target="transform", target_path=lab.settings.lab_dir / "dbt" / "up",
                           partial_parse=True)


def start_services(lab: Lab, build: dbt.PreparedRun | None = None) -> None:
    from lab import incident

    if build is None and incident.tile(lab) is None:
        build = prepare_build(lab)
    try:
        if not lab.orders.pid():
            with ui.step("warehouse raw tables equal to the OLTP tables, row for row"):
                sync.wait_in_sync(lab)
        if build is not None:
            with ui.step("dbt: building the models for the dashboard"):
                run = build.go()
            if not run.ok:
                raise LabError("dbt could not build the models (your edits in dbt_project/?)",
                               "fix the model named above, or `lab reset` to restore the shipped models",
                               ExitCode.FAILED, detail=run.output[-2500:])
    finally:
        if build is not None:
            build.cancel()
    with ui.step("orders service and dbt scheduler running"):
        lab.orders.start()
        lab.scheduler.start()
        lab.orders.wait_ready()
        lab.scheduler.wait_ready()


def start_clock(lab: Lab) -> None:
    """The 13 minutes start when the learner lands in the incident, not when the data was loaded."""
    from lab import bootstrap

    with lab.warehouse.connect("warehouse") as conn:
        bootstrap.set_state(conn, "clock", {"started_at": datetime.now(UTC).isoformat()})


def up(settings: Settings, seed: int | None = None) -> Lab:
    from seed.generate import DEFAULT_SEED

    started = time.monotonic()
    lab = prepare(settings)
    preflight_ports(lab)
    from lab import code

    code.ensure_pristine(settings)
    fresh = start_servers(lab, DEFAULT_SEED if seed is None else seed)
    start_pipeline(lab)
    if fresh:
        start_clock(lab)
    start_services(lab)
    ui.ok(f"lab up in {time.monotonic() - started:.1f} s")
    return lab


def down(settings: Settings, wipe: bool = False) -> None:
    lab = build(settings)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda c: c.stop(), [lab.orders, lab.scheduler]))
    if settings.runtime == "docker":
        from lab.runtime import docker

        docker.compose(settings, "down", *(["-v"] if wipe else []))
        return
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
