"""`lab fleet`: which instances, how many fit in memory, and each instance's environment — derived from
lab/config.py, never retyped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab import config, fleet
from lab.errors import ExitCode, LabError

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
GIB = 1024**3


@pytest.mark.parametrize(("spec", "expected"), [("1-4", [1, 2, 3, 4]), ("3", [3]), ("2,5-7", [2, 5, 6, 7]),
                                                 ("4,1-2,2", [1, 2, 4]), (" 1 , 3 ", [1, 3]), ("99", [99])])
def test_instances_are_parsed_from_ranges_and_lists(spec: str, expected: list[int]) -> None:
    assert fleet.parse_instances(spec) == expected


@pytest.mark.parametrize("spec", ["0-3", "100", "x", "4-1", "", "1-", ","])
def test_a_bad_instance_list_is_a_usage_error(spec: str) -> None:
    with pytest.raises(LabError) as err:
        fleet.parse_instances(spec)
    assert err.value.code == ExitCode.USAGE


def test_seeds_are_one_per_instance() -> None:
    assert fleet.parse_seeds("7,42,1001", 3) == [7, 42, 1001]
    for spec, count in (("7,42", 3), ("7,x,1", 3)):
        with pytest.raises(LabError) as err:
            fleet.parse_seeds(spec, count)
        assert err.value.code == ExitCode.USAGE


@pytest.mark.parametrize(("available_gib", "per_lab", "fits"), [
    (20.0, 1.6, 12),  # 20 / 1.6 = 12.5 → 12
    (1.59, 1.6, 0),
    (1.6, 1.6, 1),
    (24.0, 2.0, 12),
    (0.0, 1.6, 0),
])
def test_capacity_is_available_memory_divided_by_a_labs_budget(available_gib: float, per_lab: float,
                                                                fits: int) -> None:
    assert fleet.capacity(int(available_gib * GIB), per_lab) == fits


def test_capacity_needs_a_positive_budget() -> None:
    with pytest.raises(ValueError):
        fleet.capacity(10 * GIB, 0)


def test_more_labs_than_fit_are_refused_with_exit_2_unless_forced() -> None:
    line = fleet.require_fit(4, 8 * GIB, 1.6, "native", force=False)
    assert "8.0 GiB available ÷ 1.6 GiB a lab" in line and "5 lab(s) fit" in line
    with pytest.raises(LabError) as err:
        fleet.require_fit(6, 8 * GIB, 1.6, "native", force=False)
    assert err.value.code == ExitCode.LAB_UNHEALTHY == 2
    text = err.value.line()
    assert text.startswith("Error: 6 labs do not fit") and " — " in text and "--force" in text
    assert "\n" not in text
    assert "5 lab(s) fit" in fleet.require_fit(6, 8 * GIB, 1.6, "native", force=True)


def test_the_budget_per_lab_is_the_measured_one_per_runtime() -> None:
    assert fleet.lab_gib("native") == fleet.LAB_GIB["native"]
    assert fleet.lab_gib("docker") == fleet.LAB_GIB["docker"]
    assert 1.0 <= fleet.LAB_GIB["native"] <= 2.5  # under the bar of LAB_SPEC §7 for a whole lab


def test_each_instance_gets_the_port_block_and_home_lab_config_derives(monkeypatch) -> None:
    monkeypatch.delenv("LAB_HOME", raising=False)
    monkeypatch.delenv("LAB_INSTANCE", raising=False)
    for inst in fleet.instances([1, 4, 99]):
        expected = config.settings(environ={"LAB_INSTANCE": str(inst.number)})
        assert inst.home == expected.lab_dir == (ROOT / f".lab-{inst.number}").resolve()
        assert inst.src == (ROOT / f".lab-{inst.number}-src").resolve()
        s = inst.settings()
        assert s.instance == inst.number and s.ports == expected.ports and s.lab_dir == inst.home


def test_a_home_prefix_moves_only_the_homes(tmp_path: Path) -> None:
    (inst,) = fleet.instances([7], home_prefix=tmp_path / "fl")
    assert inst.home == tmp_path / "fl-7" and inst.src == tmp_path / "fl-7-src"
    assert inst.settings().ports == config.settings(environ={"LAB_INSTANCE": "7"}).ports


def test_an_instances_environment_carries_no_other_labs_home_or_ports(monkeypatch) -> None:
    monkeypatch.setenv("LAB_HOME", "/somewhere/.lab")
    monkeypatch.setenv("LAB_INSTANCE", "5")
    monkeypatch.setenv("LAB_PORT_OLTP", "55555")
    monkeypatch.setenv("LAB_CACHE_DIR", "/shared/cache")
    (inst,) = fleet.instances([2])
    env = inst.env("native")
    assert env["LAB_INSTANCE"] == "2" and env["LAB_HOME"] == str(inst.home)
    assert not any(k.startswith("LAB_PORT_") for k in env)
    assert env["LAB_CACHE_DIR"] == "/shared/cache"  # the jar cache is shared
    assert env["LAB_RUNTIME"] == "native"
    s = config.settings(inst.root, environ=env)
    assert s.ports == config.settings(environ={"LAB_INSTANCE": "2"}).ports and s.lab_dir == inst.home


def test_the_runtime_is_native_by_default_and_lab_runtime_passes_through(monkeypatch, tmp_path: Path) -> None:
    (inst,) = fleet.instances([3], home_prefix=tmp_path / "h")
    monkeypatch.delenv("LAB_RUNTIME", raising=False)
    assert fleet.runtime_for(inst) == "native"
    inst.home.mkdir()
    (inst.home / "runtime").write_text("docker\n")
    assert fleet.runtime_for(inst) is None  # a lab made earlier keeps its runtime
    monkeypatch.setenv("LAB_RUNTIME", "docker")
    assert fleet.runtime_for(inst) == "docker"


def test_a_working_copy_holds_the_tree_git_sees_and_never_a_labs_home(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    (root / "dbt_project").mkdir(parents=True)
    (root / "dbt_project" / "m.sql").write_text("select 1\n")
    (root / ".gitignore").write_text("ignored/\n")
    (root / "ignored").mkdir()
    (root / "ignored" / "x").write_text("no\n")
    (root / ".lab-3").mkdir()
    (root / ".lab-3" / "data").write_text("a lab's home\n")
    (root / "untracked.txt").write_text("yes\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "dbt_project", ".gitignore"], check=True)
    assert fleet.tree_files(root) == [".gitignore", "dbt_project/m.sql", "untracked.txt"]
    dest = tmp_path / "copy"
    fleet.copy_tree(root, dest)
    assert (dest / "dbt_project" / "m.sql").read_text() == "select 1\n"
    assert not (dest / ".lab-3").exists() and not (dest / "ignored").exists()
    status = subprocess.run(["git", "-C", str(dest), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""  # committed: `lab reset` restores dbt_project/ from this commit


def test_the_launcher_of_a_working_copy_runs_that_instances_lab(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    (root / "stack").mkdir(parents=True)
    (root / "stack" / "components.toml").write_text((ROOT / "stack" / "components.toml").read_text())
    (root / "lab").mkdir()
    (root / "lab" / "__init__.py").write_text("")
    inst = fleet.Instance(5, tmp_path / "home-5", root)
    assert fleet.ensure_copy(inst) is True and fleet.ensure_copy(inst) is False
    launcher = (inst.src / "bin" / "lab").read_text()
    assert "LAB_INSTANCE=5" in launcher and f"LAB_HOME='{inst.home}'" in launcher and sys.executable in launcher
    assert (inst.src / "bin" / "lab").stat().st_mode & 0o111 and (inst.src / "lab" / "__init__.py").exists()
    status = subprocess.run(["git", "-C", str(inst.src), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""  # the launcher is committed: dbt_project/ edits are all git shows


def test_fleet_up_refuses_more_labs_than_fit_with_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "lab.fleet", "up", "--instances", "1-3", "--home-prefix",
                           str(tmp_path / "h"), "--gib-per-lab", "100000"], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "LAB_RUNTIME": "native"}, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and " — " in lines[0]
    assert lines[0].startswith("Error: 3 labs do not fit in this machine's memory")
    assert not list(tmp_path.iterdir())  # nothing made, nothing started


def test_fleet_without_instances_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "lab.fleet", "up"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == ExitCode.USAGE and proc.stderr.startswith("Error: which labs?")
    proc = subprocess.run([sys.executable, "-m", "lab.fleet", "status", "--home-prefix", str(tmp_path / "none")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == ExitCode.USAGE and "no fleet labs" in proc.stderr
