"""`lab up` and `lab down`: start what is not running, in dependency order and in parallel where safe."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from lab import dbt, platform, runtime, sync, ui
from lab.config import Settings
from lab.errors import ExitCode, LabError
from lab.stack import Lab, build

CDC_TOPICS = ["shop.public.orders", "shop.public.customers"]


def prepare(settings: Settings, announce: bool = True) -> Lab:
    """Pick the lab's runtime (once; say which and why), install or verify what it needs, describe the lab."""
    platform.refuse_windows_drive(settings.root)
    name, why = runtime.choose(settings)
    rt = runtime.make(settings, name)
    if announce:
        ui.info(f"[dim]runtime: {name} ({why})[/]")
    rt.prepare()
    return build(settings, rt)


def preflight_ports(lab: Lab) -> None:
    """Refuse before starting anything if a port of a stopped component is taken."""
    lab.runtime.preflight([c.comp for c in lab.all])


def start_servers(lab: Lab, seed: int) -> bool:
    """PostgreSQL ×2 (seeded on first use), Kafka and Connect: started together, each waited for.
    Returns True when the warehouse was seeded now (a fresh incident)."""
    from lab import bootstrap

    data = bootstrap.Dataset(seed)
    fresh: list[bool] = []
    t0 = time.monotonic()
    with ui.console.status("starting PostgreSQL ×2, Kafka, Kafka Connect …"):
        lab.runtime.start([c.comp for c in lab.servers])

    def oltp() -> str:
        lab.oltp.wait_ready()
        seeded = not bootstrap.oltp_ready(lab)
        if seeded:
            bootstrap.ensure_oltp_templates(lab.oltp, data)
            bootstrap.clone_oltp(lab.oltp, seed)
        bootstrap.stamp(lab)
        return _line(lab.oltp, "OLTP PostgreSQL (shop, erp)", t0, seeded)

    def warehouse() -> str:
        lab.warehouse.wait_ready()
        seeded = not bootstrap.warehouse_ready(lab)
        if seeded:
            bootstrap.ensure_warehouse_template(lab.warehouse, data)
            bootstrap.clone_warehouse(lab.warehouse, seed)
            fresh.append(True)
        return _line(lab.warehouse, "warehouse PostgreSQL", t0, seeded)

    def kafka_then_connect() -> list[str]:
        lab.kafka.wait_ready()
        lines = [_line(lab.kafka, "Kafka broker (KRaft)", t0)]
        lab.connect.wait_ready()
        lines.append(_line(lab.connect, "Kafka Connect worker", t0))
        return lines

    with ui.console.status("waiting for PostgreSQL ×2, Kafka, Kafka Connect …"), ThreadPoolExecutor(3) as pool:
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
    if fresh:
        bootstrap.stamp(lab)
    return bool(fresh)


def _line(comp, what: str, t0: float, seeded: bool = False) -> str:
    where = comp.runtime.host(comp.comp)
    handle = comp.runtime.handle(comp.comp)
    return (f"{what} on {where}" + (f" ({handle})" if handle else "") + (", seeded" if seeded else "")
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
    """The warehouse in step with the OLTP tables, then the lab's Python services started while dbt builds
    the dashboard's models (the shop's first order comes 30 s later, the scheduler's first run minutes
    later: neither needs the build), then both waited for."""
    from lab import incident

    if build is None and incident.tile(lab) is None:
        build = prepare_build(lab)
    services = lab.services
    try:
        if not lab.orders.pid():
            with ui.step("warehouse raw tables equal to the OLTP tables, row for row"):
                sync.wait_in_sync(lab)
        for svc in services:
            if not svc.pid():
                svc.heartbeat.unlink(missing_ok=True)
        lab.runtime.start([s.comp for s in services])
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
    with ui.step(" and ".join(s.name for s in services) + " running"):
        for svc in services:
            svc.wait_ready()


def up(settings: Settings, seed: int | None = None, lab: Lab | None = None) -> Lab:
    """`lab` is given only by the orchestration's unit tests (a lab on the fake runtime)."""
    from lab import code
    from seed.story import DEFAULT_SEED

    started = time.monotonic()
    lab = lab or prepare(settings)
    preflight_ports(lab)
    code.ensure_pristine(settings)
    seed = DEFAULT_SEED if seed is None else seed
    fresh = start_servers(lab, seed)
    runtime.remember(settings, lab.runtime.name)  # the lab's data now lives where this runtime keeps it
    start_pipeline(lab)
    if fresh:
        from lab import bootstrap

        bootstrap.forget_queries(lab)
        lab.session.begin(seed, settings.lab_id)
        if not bootstrap.raw_captured(lab.warehouse, seed):
            # What Debezium's snapshot of the fresh clone delivered, and the shipped models built from it, kept
            # in the seed's template for `lab reset` (lab/reset.py).
            with ui.step("warehouse raw tables equal to the OLTP tables, row for row"):
                sync.wait_in_sync(lab)
            bootstrap.capture_raw(lab.warehouse, seed)
            pristine = code.ensure_pristine(settings)
            with ui.step("dbt: the shipped models built into the seed's template (first time only)"):
                bootstrap.build_models(lab, seed, pristine, code.digest(pristine))
    start_services(lab)
    ui.ok(f"lab up in {time.monotonic() - started:.1f} s")
    return lab


def down(settings: Settings, wipe: bool = False, lab: Lab | None = None) -> None:
    lab = lab or build(settings)
    rt = lab.runtime
    rt.stop([s.comp for s in lab.services])
    rt.stop([lab.connect.comp])  # before the broker, so it commits its offsets
    rt.stop([c.comp for c in (lab.kafka, lab.oltp, lab.warehouse)])
    rt.down(wipe)
