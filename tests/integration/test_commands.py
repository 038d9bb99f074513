"""Every command the briefing and the README show works as typed, from the repository root.

The briefing prints this lab's own ports, so its commands are run against the session's lab. The README
shows the default lab's: they are run verbatim only where the default lab is the one up — the non-root
tier (tests/nonroot/run.sh: a fresh clone, `make lab-up`, then LAB_README_VERBATIM=1).
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from lab import briefing
from tests.conftest import ROOT, TEST_ENV

pytestmark = pytest.mark.integration

# What each command is expected to answer with: `bin/lab check` of the shipped models is a FAIL (exit 1).
EXPECTED_EXIT = {"bin/lab check": 1}


def run_shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, timeout=600)


def _expected(command: str) -> int:
    return next((code for prefix, code in EXPECTED_EXIT.items() if command.startswith(prefix)), 0)


def _check(command: str, proc: subprocess.CompletedProcess[str]) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == _expected(command), f"`{command}` exited {proc.returncode}\n{out[-2000:]}"
    assert "command not found" not in out and "Traceback" not in out, out[-2000:]


def test_every_command_of_the_briefing_works_as_printed(running_lab) -> None:
    env = {**os.environ, **TEST_ENV}
    commands = [c for c, _ in briefing.commands(running_lab)]
    assert any(c.startswith("bin/lab psql") for c in commands) and any("curl" in c for c in commands)
    for command in commands:
        if command.startswith("bin/lab check"):
            continue  # a whole check: the checker's own tiers run it; here it would only double the time
        _check(command, run_shell(command, env))


def readme_commands() -> list[str]:
    """The shell lines of the README's ```sh blocks (comments stripped), in order."""
    text = (ROOT / "README.md").read_text()
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command and not command.startswith("#"):
                out.append(command)
    return out


# Long or lab-changing commands of the README that other tiers run (the whole suite, a reset, a wipe).
NOT_HERE = ("make test", "make lab-down", "make lab-reset", "bin/lab reset", "bin/lab down", "bin/lab check",
            "bin/lab grade", "bin/lab rollup", "make bench", "LAB_RUNTIME=docker", "LAB_INSTANCE=",
            "bin/lab logs connect -f", "bin/lab open")


@pytest.mark.skipif(not os.environ.get("LAB_README_VERBATIM"), reason="needs the default lab up (non-root tier)")
def test_the_readme_commands_work_verbatim_on_the_default_lab() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAB_")}
    commands = readme_commands()
    assert "make lab-up" in commands and "make test" in commands
    ran = 0
    for command in commands:
        if command.startswith(NOT_HERE):
            continue
        _check(command, run_shell(command, env))
        ran += 1
    assert ran >= 6, commands
