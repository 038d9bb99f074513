"""Bad input ends in one clear line (`Error: <what went wrong> — <what to do>`), a non-zero exit, and loses
nothing (LAB_SPEC §5, §7).

The install-path cases run the real CLI as a subprocess on a LAB_HOME of their own (under tmp_path) with
ports of their own, so the session's lab is never disturbed; they need no running server. `lab check`
cases (a model with an SQL error, a model that times out, a check before `lab up`) are in tests/checker/.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from lab import incident, process, sync
from lab.stack import Lab
from tests.conftest import ROOT, TEST_ENV, run_lab

PORT_NAMES = ("OLTP", "WAREHOUSE", "KAFKA", "KAFKA_CONTROLLER", "CONNECT")


# -- helpers ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a separate lab: its own LAB_HOME and free ports, none of the session lab's LAB_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAB_")}
    env.update({"LAB_HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    env.update({f"LAB_PORT_{name}": str(free_port()) for name in PORT_NAMES})
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=timeout)


def final_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in (proc.stderr.strip() or proc.stdout.strip()).splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def assert_one_clear_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    line = final_line(proc)
    output = proc.stdout + proc.stderr
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}\n{output}"
    assert line.startswith("Error: ") and " — " in line, f"not one `Error: … — fix` line: {line!r}\n{output}"
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def files_of(root: Path) -> dict[str, str]:
    """Every file under root (except the CLI's own log folder) with a digest of its content."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.relative_to(root).parts[0] != "logs"}


@pytest.fixture
def existing_home(tmp_path: Path) -> Iterator[Path]:
    """The LAB_HOME of a stopped lab with data in it: the failing command must leave every file as it was,
    and start nothing."""
    home = tmp_path / "lab-home"
    for rel, content in {
        "pg/oltp/PG_VERSION": b"15\n",
        "pg/oltp/base/16384/16385": os.urandom(8192),
        "pg/warehouse/PG_VERSION": b"15\n",
        "pg/warehouse/base/16384/16390": os.urandom(8192),
        "kafka/data/meta.properties": b"version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\nnode.id=1\n",
        "saved/dbt_project-20260626-084700/models/marts/fct_orders.sql": b"-- a learner's edit\nselect 1\n",
    }.items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    before = files_of(home)
    yield home
    assert files_of(home) == before, "the failing command changed the data of the existing lab"
    assert process.lab_processes(home) == [], "the failing command left a lab process running"


# -- a port already taken --------------------------------------------------------------------------------
@pytest.mark.unit
@pytest.mark.parametrize("name", ["OLTP", "KAFKA_CONTROLLER", "CONNECT"])
def test_a_taken_port_is_named_with_its_owner_and_nothing_starts(existing_home: Path, name: str) -> None:
    component = name.lower().replace("_", "-")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        proc = run_cli(lab_env(existing_home, **{f"LAB_PORT_{name}": str(port)}), "up")
    assert_one_clear_error(proc, 2, f"port {port} for {component} is already taken", f"(pid {os.getpid()})",
                           f"LAB_PORT_{name}=")


@pytest.mark.integration
def test_the_port_of_a_running_lab_is_refused_and_that_lab_is_untouched(running_lab: Lab, tmp_path: Path) -> None:
    """A second `lab up` on another LAB_HOME but the running lab's ports: refused, naming the PostgreSQL
    that holds the port; the running lab keeps its processes and its data."""
    pids = {c.name: c.pid() for c in running_lab.all}
    with running_lab.oltp.connect("shop") as shop:
        orders = shop.execute("select count(*) from orders").fetchone()[0]
    env = {**lab_env(tmp_path / "second-lab"), **{k: v for k, v in TEST_ENV.items() if k.startswith("LAB_PORT_")}}
    proc = run_cli(env, "up")
    oltp_port = TEST_ENV["LAB_PORT_OLTP"]
    assert_one_clear_error(proc, 2, f"port {oltp_port} for oltp is already taken by postgres (pid {pids['oltp']})",
                           "LAB_PORT_OLTP=")
    assert {c.name: c.pid() for c in running_lab.all} == pids
    with running_lab.oltp.connect("shop") as shop:
        assert shop.execute("select count(*) from orders").fetchone()[0] >= orders
    assert not (tmp_path / "second-lab" / "pg").exists()
    assert process.lab_processes(tmp_path / "second-lab") == []


# -- Java missing or too old -------------------------------------------------------------------------------
@pytest.mark.unit
def test_no_java_on_path(existing_home: Path, tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = lab_env(existing_home, PATH=str(empty_bin), LAB_RUNTIME="native")
    env.pop("JAVA_HOME", None)
    proc = run_cli(env, "up", timeout=120)
    assert_one_clear_error(proc, 2, "Java 17+ not found", "install a JDK 17+", "JAVA_HOME")


@pytest.mark.unit
def test_with_no_runtime_possible_one_line_names_both_ways(existing_home: Path, tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = lab_env(existing_home, PATH=str(empty_bin))
    env.pop("JAVA_HOME", None)
    proc = run_cli(env, "up", timeout=120)
    assert_one_clear_error(proc, 2, "no runtime can run the lab here", "Java 17+ not found",
                           "no Docker engine answers", "LAB_RUNTIME=docker")


@pytest.mark.unit
def test_java_too_old_on_path(existing_home: Path, tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    java = fake_bin / "java"
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    java.chmod(0o755)
    env = lab_env(existing_home, PATH=f"{fake_bin}:{os.environ.get('PATH', '')}", LAB_RUNTIME="native")
    env.pop("JAVA_HOME", None)
    proc = run_cli(env, "up", timeout=120)
    assert_one_clear_error(proc, 2, f"Java 11 at {java} is too old", "needs Java 17+", "install a JDK 17+")


# -- PostgreSQL server binaries missing ------------------------------------------------------------------
@pytest.mark.unit
def test_postgres_binaries_missing(existing_home: Path) -> None:
    env = lab_env(existing_home, LAB_PG_BINDIR="/nonexistent", LAB_NO_INSTALL="1", LAB_RUNTIME="native")
    proc = run_cli(env, "up", timeout=120)
    assert_one_clear_error(proc, 2, "PostgreSQL 15+ server binaries (initdb, pg_ctl, postgres) not found",
                           "apt-get install -y postgresql", "LAB_PG_BINDIR")


# -- Maven Central unreachable on a cold cache -------------------------------------------------------------
MIRROR_TO_NOWHERE = """<settings>
  <mirrors>
    <mirror><id>nowhere</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:9/maven2</url></mirror>
  </mirrors>
</settings>
"""


@pytest.mark.unit
def test_maven_central_unreachable_with_a_cold_jar_cache(existing_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "user-home"
    (home / ".m2" / "repository").mkdir(parents=True)
    (home / ".m2" / "settings.xml").write_text(MIRROR_TO_NOWHERE)
    cache = tmp_path / "jar-cache"
    # Java takes user.home (where Maven looks for ~/.m2) from the password database, not from $HOME.
    env = lab_env(existing_home, HOME=str(home), MAVEN_OPTS=f"-Duser.home={home}", LAB_CACHE_DIR=str(cache))
    for key in ("MAVEN_ARGS", "XDG_CACHE_HOME"):
        env.pop(key, None)
    proc = run_cli(env, "up", timeout=600)
    assert_one_clear_error(proc, 2, "Maven Central is unreachable and the jar cache is empty",
                           "connect to the internet", str(cache / "jvm"))
    # Nothing half-resolved is left to be mistaken for a cache next time.
    leftovers = sorted(p.name for p in cache.iterdir()) if cache.exists() else []
    assert leftovers == [], leftovers
    assert not list((home / ".m2" / "repository").rglob("*.jar"))


# -- `lab reset` while a component is down ---------------------------------------------------------------
@pytest.mark.faults
@pytest.mark.parametrize("victim", ["connect", "warehouse", "kafka"])
def test_reset_with_a_component_down_brings_it_back_and_resets(running_lab: Lab, victim: str) -> None:
    """A facilitator resets between groups without checking first: the dead component comes back, and the
    lab is the pristine incident. `--keep-code`: the checkout's dbt_project/ is not the test's to restore."""
    lab = running_lab
    project = files_of(ROOT / "dbt_project")
    comp = lab.component(victim)
    pid = comp.pid()
    assert pid
    process.kill9(pid)
    deadline = time.monotonic() + 10
    while comp.pid() == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    assert comp.pid() is None

    proc = run_lab("reset", "--keep-code", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lab reset to seed" in proc.stdout
    assert comp.pid() not in (None, pid)
    status = run_lab("status", "--json", check=False)
    assert status.returncode == 0, status.stdout
    assert json.loads(status.stdout)["healthy"] is True
    assert incident.erp(lab) == Decimal("3690000.00")
    assert incident.tile(lab) == Decimal("4206000.00")
    assert sync.in_sync(lab)
    assert files_of(ROOT / "dbt_project") == project
