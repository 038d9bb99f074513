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

from lab import config

ROOT = Path(__file__).resolve().parent.parent
# The tests' lab is a lab instance of its own (ports +10·k, lab/config.py), far from the learner's (0) and a
# facilitator's fleet (1…): LAB_TEST_INSTANCE / LAB_TEST_HOME let two test runs live side by side.
INSTANCE = int(os.environ.get("LAB_TEST_INSTANCE", "80"))
TEST_ENV = {
    **config.instance_env(INSTANCE, Path(os.environ.get("LAB_TEST_HOME", str(ROOT / ".lab-test")))),
    **{config.port_env_name(name): str(port)
       for name, port in config.instance_ports(config.load_stack(ROOT), INSTANCE).items()},
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}
# The lab's own settings of the shell (a learner's LAB_RUNTIME, LAB_DBT_EVERY, LAB_PORT_…) do not leak into the
# tests' lab; the tests' own switches (LAB_TEST_*, LAB_REQUIRE_*, LAB_README_VERBATIM) stay.
_SETTINGS = {k.env for k in config.KNOBS.values()}
for _key in [k for k in os.environ if (k in _SETTINGS or k.startswith("LAB_PORT_")) and k not in TEST_ENV]:
    del os.environ[_key]
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
