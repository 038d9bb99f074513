"""Fixtures of the workspace's real tests: the workspace of the test lab (tests/conftest.py brings the lab
up, and `lab up` starts the workspace), its URL with the token, and a pristine incident (default seed, orders
paused) for what a learner must see."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_lab


def pytest_configure(config) -> None:
    # Also in pyproject.toml's markers; registered here too so this folder runs under --strict-markers alone.
    config.addinivalue_line("markers", "browser: a real browser (Playwright + Debian chromium)")


def artefacts_dir() -> Path:
    path = Path(os.environ.get("LAB_TEST_ARTEFACTS") or ROOT / "tests" / "workspace" / "artefacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def wait_healthy(lab, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (lab.workspace and lab.workspace.health().healthy):
        if time.monotonic() > deadline:
            raise AssertionError("the workspace did not become healthy:\n" + lab.runtime.log_tail(lab.workspace.comp))
        time.sleep(0.2)


@pytest.fixture(scope="session")
def workspace(running_lab):
    """(lab, base URL, token) of the test lab's workspace."""
    from lab import workspace_link

    assert running_lab.workspace is not None, "stack/components.toml describes no workspace"
    wait_healthy(running_lab)
    port = running_lab.settings.ports["workspace"]
    return running_lab, f"http://127.0.0.1:{port}", workspace_link.token(running_lab.settings)


@pytest.fixture(scope="module")
def pristine_workspace(workspace) -> Iterator:
    """The incident as it starts (default seed, clock restarted), the orders service paused so the figures
    hold still. `--keep-code`: the checkout's dbt_project/ is left alone."""
    lab = workspace[0]
    run_lab("reset", "--keep-code")
    lab.orders.pause()
    wait_healthy(lab)
    yield workspace
    lab.orders.resume()
