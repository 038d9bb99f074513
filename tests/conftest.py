"""Test tiers: unit (no servers), integration/faults (the real stack, brought up once per session).

The tests run their own lab: its own data folder (.lab-test/) and ports, so a learner's running lab is
never touched by `make test`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# LAB_TEST_HOME / LAB_TEST_PORT_OFFSET let two test runs (or a developer's and CI's) live side by side.
_OFFSET = int(os.environ.get("LAB_TEST_PORT_OFFSET", "10"))
TEST_ENV = {
    "LAB_HOME": os.environ.get("LAB_TEST_HOME", str(ROOT / ".lab-test")),
    "LAB_PORT_OLTP": str(54320 + _OFFSET),
    "LAB_PORT_WAREHOUSE": str(54321 + _OFFSET),
    "LAB_PORT_KAFKA": str(19092 + 10 * _OFFSET),
    "LAB_PORT_KAFKA_CONTROLLER": str(19093 + 10 * _OFFSET),
    "LAB_PORT_CONNECT": str(18083 + 10 * _OFFSET),
    "LAB_PORT_WORKSPACE": str(18080 + 10 * _OFFSET),
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}
os.environ.update(TEST_ENV)  # before any lab settings are read


def run_lab(*args: str, check: bool = True, timeout: float = 600,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI, as a user runs it."""
    proc = subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True,
                          env={**os.environ, **TEST_ENV, **(env or {})}, cwd=ROOT, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"lab {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def lab_settings():
    from lab.config import settings

    return settings()


@pytest.fixture(scope="session")
def running_lab(lab_settings) -> Iterator:
    """The whole real pipeline, up once for the session, stopped at the end."""
    from lab.stack import build

    run_lab("up")
    lab = build(lab_settings)
    # A lab left by an earlier, interrupted run may hold another variant: the tests expect the incident's.
    from seed.story import DEFAULT_SEED

    if lab.session.read().seed != DEFAULT_SEED:
        run_lab("reset", "--seed", str(DEFAULT_SEED), "--keep-code")
    yield lab
    run_lab("down", check=False)


@pytest.fixture
def paused_service(running_lab) -> Iterator:
    """The orders service paused for the test, resumed after."""
    running_lab.orders.pause()
    yield running_lab
    running_lab.orders.resume()
