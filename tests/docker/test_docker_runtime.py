"""The docker runtime on a real engine, end to end: `lab up` → every component healthy → CDC exactness →
the incident's figures → `lab check` (the reference fix passes, the shipped models fail) → `lab reset` →
`lab down` keeps the data and the clock → `lab up` resumes → `lab down --wipe` leaves nothing.

The same stack/compose.yaml a laptop runs: images built from stack/docker/ (FROM debian:bookworm-slim, made
here by stack/docker/base-image.sh since no registry is reachable), a compose project per lab, named
volumes, ports published on 127.0.0.1 from the lab's own port block (instance 92 here).
Needs an engine (`stack/docker/engine.sh start`); CI sets LAB_REQUIRE_DOCKER=1 so a missing one fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from lab import config, sync
from lab.runtime import docker
from lab.stack import Lab, build
from tests.checker.helpers import patched_project, shipped_project
from tests.conftest import ROOT

pytestmark = pytest.mark.docker

INSTANCE = 92
HOME = Path(os.environ.get("LAB_TEST_DOCKER_HOME", ROOT / ".lab-test-docker"))


def env() -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LAB_")}
    return {**base, **config.instance_env(INSTANCE, HOME), "LAB_RUNTIME": "docker", "LAB_ORDERS_PER_MINUTE": "6",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def run(*args: str, check: bool = True, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, env=env(), cwd=ROOT,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"lab {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def volumes(lab: Lab) -> list[str]:
    out = subprocess.run(["docker", "volume", "ls", "-q", "--filter",
                          f"label=com.docker.compose.project={lab.runtime.project}"], capture_output=True, text=True)
    return sorted(out.stdout.split())


@pytest.fixture(scope="module")
def docker_lab() -> Iterator[Lab]:
    if not docker.engine_answers():
        if os.environ.get("LAB_REQUIRE_DOCKER"):
            pytest.fail("LAB_REQUIRE_DOCKER is set but no Docker engine answers (stack/docker/engine.sh start)")
        pytest.skip("no Docker engine answers here")
    settings = config.settings(environ=env())
    try:
        run("up")
        lab = build(settings)
        assert lab.runtime.name == "docker"
        yield lab
    finally:
        run("down", "--wipe", check=False)


def test_up_brings_every_component_up_healthy_in_containers(docker_lab: Lab) -> None:
    proc = run("status", "--json", check=False)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["healthy"] is True, proc.stdout
    assert report["runtime"] == "docker"
    handles = {c["name"]: c["handle"] for c in report["components"]}
    for name in ("oltp", "warehouse", "kafka", "connect"):
        assert handles[name].startswith("container "), handles
    for name in ("orders-service", "scheduler"):
        assert handles[name].startswith("pid "), handles
    assert all(s.startswith("RUNNING") for s in report["connectors"].values())
    # published where this lab's port block says, on loopback
    ports = config.instance_ports(config.load_stack(), INSTANCE)
    assert docker_lab.oltp.port == ports["oltp"] and docker_lab.connect.port == ports["connect"]


def test_logs_of_containers_and_of_host_services(docker_lab: Lab) -> None:
    assert "org.apache.kafka.connect" in run("logs", "connect", "-n", "400").stdout
    assert "database system is ready to accept connections" in run("logs", "oltp", "-n", "400").stdout
    assert run("logs", "scheduler").stdout.strip()


def test_changes_reach_the_warehouse_exactly(docker_lab: Lab) -> None:
    lab = docker_lab
    created = datetime(2026, 6, 26, 8, 51, 7, 654321, tzinfo=UTC)
    with lab.oltp.connect("shop") as shop:
        customer = shop.execute("select min(customer_id) from customers").fetchone()[0]
        oid = shop.execute("insert into orders(customer_id, status, amount, created_at, updated_at) "
                           "values (%s, 'paid', 4321.09, %s, %s) returning order_id",
                           (customer, created, created)).fetchone()[0]
        shop.execute("update orders set refunded_at = %s, updated_at = %s where order_id = %s",
                     (created, created, oid))
    sync.wait_in_sync(lab, timeout=60)
    with lab.warehouse.connect("warehouse") as wh:
        row = wh.execute("select amount, created_at, refunded_at, status from raw.orders where order_id = %s",
                         (oid,)).fetchone()
    assert row == (Decimal("4321.09"), created, created, "paid")
    with lab.oltp.connect("shop") as shop:
        shop.execute("delete from orders where order_id = %s", (oid,))
    sync.wait_in_sync(lab, timeout=60)
    for table, (src, dst) in sync.compare(lab).items():
        assert src == dst, table


def test_reset_gives_the_incident_figures_exactly(docker_lab: Lab) -> None:
    run("orders", "create", "--amount", "77.70")
    run("reset", "--keep-code")
    docker_lab.orders.pause()
    try:
        tile = run("tile").stdout
        assert "$4,206,000.00" in tile and "$3,690,000.00" in tile, tile
    finally:
        docker_lab.orders.resume()


def test_the_checker_passes_the_reference_fix_and_fails_the_shipped_models(docker_lab: Lab, tmp_path: Path) -> None:
    fixed = patched_project(tmp_path / "fixed", "reference/reference.patch")
    proc = run("check", "--project-dir", str(fixed), "--out", str(tmp_path / "pass"), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "pass" / "report.json").read_text())
    assert report["status"] == "pass"
    shipped = shipped_project(tmp_path / "shipped")
    proc = run("check", "--project-dir", str(shipped), "--no-guard", "--out", str(tmp_path / "fail"), check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    tests = {t["task_id"]: t for t in json.loads((tmp_path / "fail" / "report.json").read_text())["tests"]}
    assert tests[3]["status"] == "fail" and "≠ ERP" in tests[3]["message"]


def test_down_keeps_the_data_and_the_clock_and_up_resumes(docker_lab: Lab) -> None:
    lab = docker_lab
    started = lab.session.read().clock_started_at
    with lab.oltp.connect("shop") as shop:
        orders = shop.execute("select count(*) from orders").fetchone()[0]
    kept = volumes(lab)
    assert len(kept) == 3, kept
    run("down")
    assert not any(lab.runtime.running(c.comp) for c in lab.all)
    assert volumes(lab) == kept
    out = run("up").stdout
    assert "seeded" not in out
    assert lab.session.read().clock_started_at == started  # the same incident, the same 13 minutes
    with lab.oltp.connect("shop") as shop:
        assert shop.execute("select count(*) from orders").fetchone()[0] >= orders
    assert json.loads(run("status", "--json").stdout)["healthy"] is True


def test_a_killed_container_comes_back_with_lab_up_and_nothing_is_lost(docker_lab: Lab) -> None:
    lab = docker_lab
    lab.orders.pause()
    try:
        lab.runtime.kill(lab.connect.comp)
        deadline = time.monotonic() + 15
        while lab.runtime.running(lab.connect.comp) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not lab.connect.health().healthy
        with lab.oltp.connect("shop") as shop:
            customer = shop.execute("select min(customer_id) from customers").fetchone()[0]
            for i in range(50):
                shop.execute("insert into orders(customer_id, status, amount, created_at, updated_at) "
                             "values (%s, 'paid', %s, now(), now())", (customer, Decimal("5.00") + i))
        run("up")
        sync.wait_in_sync(lab, timeout=120)
    finally:
        lab.orders.resume()


def test_down_wipe_leaves_no_container_no_volume_and_no_home(docker_lab: Lab) -> None:
    lab = docker_lab
    project = lab.runtime.project
    run("down", "--wipe")
    label = f"label=com.docker.compose.project={project}"
    left = subprocess.run(["docker", "volume", "ls", "-q", "--filter", label], capture_output=True, text=True)
    assert left.stdout.split() == []
    out = subprocess.run(["docker", "ps", "-a", "-q", "--filter", label], capture_output=True, text=True)
    assert out.stdout.split() == []
    assert not HOME.exists()
