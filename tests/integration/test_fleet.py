"""`lab fleet` on the real stack: two native labs side by side (instances 90 and 91, homes .lab-test-fleet-k,
so neither a learner's lab nor the other test labs are touched), brought up at once, each healthy on its own
port block, reset at once (each from its own working copy), and wiped at the end — nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from lab import config, fleet, process
from tests.conftest import ROOT

pytestmark = pytest.mark.integration
SPEC = "90-91"
PREFIX = ROOT / ".lab-test-fleet"


def run_fleet(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAB_") or k == "LAB_CACHE_DIR"}
    return subprocess.run([sys.executable, "-m", "lab.fleet", *args, "--instances", SPEC, "--home-prefix", str(PREFIX)],
                          capture_output=True, text=True, cwd=ROOT, env={**env, "LAB_RUNTIME": "native"},
                          timeout=timeout)


@pytest.fixture(scope="module")
def two_labs() -> Iterator[list[fleet.Instance]]:
    insts = fleet.instances(fleet.parse_instances(SPEC), PREFIX)
    try:
        yield insts
    finally:
        run_fleet("down", "--wipe")


def test_two_labs_up_reset_and_down_side_by_side(two_labs: list[fleet.Instance]) -> None:
    up = run_fleet("up")
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr
    assert "lab(s) fit" in up.stdout and "fleet up: 2 of 2 ok" in up.stdout
    assert "[lab-90] " in up.stdout and "[lab-91] " in up.stdout  # each instance's output, prefixed

    a, b = (i.settings() for i in two_labs)
    assert a.ports == config.settings(environ={"LAB_INSTANCE": "90"}).ports
    assert not set(a.ports.values()) & set(b.ports.values())

    status = run_fleet("status")
    assert status.returncode == 0, status.stdout + status.stderr
    for inst in two_labs:
        line = next(ln for ln in status.stdout.splitlines() if ln.strip().startswith(inst.name))
        assert "healthy" in line and "tile $4.21M vs ERP $3.69M" in line, line
        if "workspace" in inst.settings().ports:
            assert f"http://127.0.0.1:{inst.settings().ports['workspace']}/?token=" in line

    # learner 90 edits the model in their own working copy; learner 91's copy is not touched
    model = two_labs[0].src / "dbt_project" / "models" / "marts" / "fct_orders.sql"
    shipped = model.read_text()
    model.write_text(shipped + "\n-- learner 90 was here\n")
    assert "learner 90" not in (two_labs[1].src / "dbt_project" / "models" / "marts" / "fct_orders.sql").read_text()
    reset = run_fleet("reset", "--seeds", "42,42")
    assert reset.returncode == 0, reset.stdout[-4000:] + reset.stderr
    assert model.read_text() == shipped
    assert "fleet reset: 2 of 2 ok" in reset.stdout

    down = run_fleet("down", "--wipe")
    assert down.returncode == 0, down.stdout + down.stderr
    for inst in two_labs:
        assert not inst.home.exists() and not inst.src.exists()
        assert process.lab_processes(inst.home) == []
        for port in inst.settings().ports.values():
            assert not _listening(port), f"port {port} of {inst.name} still taken"


def _listening(port: int) -> bool:
    return any(c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
               for c in psutil.net_connections("tcp"))
