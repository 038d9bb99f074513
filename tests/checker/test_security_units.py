"""The grader's defences that need no servers: the checker's copy of a project, the static scan's wider
net, patches that are not patches, and reports that carry nothing of the grading machine."""

from __future__ import annotations

import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from checks import honesty, project, redact, targets
from checks.build import Build, Phase, misplaced
from checks.outcome import Criterion, Report, Status
from lab.dbt import DbtRun, dbt_env
from lab.errors import ExitCode, LabError

pytestmark = pytest.mark.unit


def _project(root: Path, yml: str = "name: p\nmodel-paths: ['models']\n") -> Path:
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(yml)
    (root / "models" / "a.sql").write_text("select 1 as x\n")
    return root


def test_the_copy_follows_symlinks_inside_the_project_and_leaves_dbt_output_behind(tmp_path: Path) -> None:
    src = _project(tmp_path / "src")
    (src / "models" / "b.sql").symlink_to("a.sql")
    (src / "shared").symlink_to("models")
    (src / "target").mkdir()
    (src / "target" / "manifest.json").write_text("{}")
    dest = project.copy(src, tmp_path / "copy")
    assert (dest / "models" / "b.sql").read_text() == "select 1 as x\n"
    assert not (dest / "models" / "b.sql").is_symlink()
    assert (dest / "shared" / "a.sql").is_file()
    assert not (dest / "target").exists()


@pytest.mark.parametrize("link", ["/etc/hostname", "../../outside.sql", "/proc/self/environ"])
def test_a_symlink_leading_outside_is_refused_naming_it(tmp_path: Path, link: str) -> None:
    (tmp_path / "outside.sql").write_text("select 'secret'\n")
    src = _project(tmp_path / "src")
    (src / "models" / "evil.sql").symlink_to(link)
    with pytest.raises(project.Refused, match=f"models/evil.sql is a symlink to {link}, outside the project"):
        project.copy(src, tmp_path / "copy")


def test_a_symlinked_folder_leading_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    src = _project(tmp_path / "src")
    (src / "macros").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(project.Refused, match="macros is a symlink"):
        project.copy(src, tmp_path / "copy")


@pytest.mark.parametrize("line", ["model-paths: ['models', '../checks/variants/defective']",
                                  "macro-paths: ['/etc']", "seed-paths: [\"{{ env_var('HOME') }}\"]",
                                  "packages-install-path: ../../packages", "target-path: /tmp/elsewhere"])
def test_paths_in_dbt_project_yml_stay_inside(tmp_path: Path, line: str) -> None:
    src = _project(tmp_path / "src", f"name: p\n{line}\n")
    with pytest.raises(project.Refused, match="dbt_project.yml"):
        project.copy(src, tmp_path / "copy")


def test_ordinary_relative_paths_are_fine(tmp_path: Path) -> None:
    src = _project(tmp_path / "src", "name: p\nmodel-paths: ['models', 'more/models']\nseed-paths: ['./seeds']\n")
    assert (project.copy(src, tmp_path / "copy") / "models" / "a.sql").exists()


def test_dbt_gets_none_of_the_callers_secrets(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_should_never_reach_dbt")
    monkeypatch.setenv("PGPASSWORD", "hunter2hunter2")
    monkeypatch.setenv("PGHOST", "elsewhere.example")
    env = dbt_env(tmp_path)
    assert "GITHUB_TOKEN" not in env and "PGPASSWORD" not in env and "PGHOST" not in env
    assert env["HOME"] == str(tmp_path) and env["PATH"] == os.environ["PATH"]


def test_reports_lose_secret_values_and_the_graders_folders(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI_DEPLOY_TOKEN", "tok-7f3a9c1e")
    rep = Report("grade", criteria=[Criterion(2, Status.FAIL, f"boom tok-7f3a9c1e at {tmp_path}/lab/checks/x.sql",
                                              details={"out": ["tok-7f3a9c1e"]})], lab={"where": str(tmp_path)})
    redact.report(rep, {"$LAB_HOME": tmp_path / "lab", "~": tmp_path})
    assert rep.criteria[0].message == "boom *** at $LAB_HOME/checks/x.sql"
    assert rep.criteria[0].details == {"out": ["***"]} and rep.lab == {"where": "~"}


def test_a_file_that_is_not_a_patch_is_refused_as_bad_input(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "dbt_project").mkdir(parents=True)
    (repo / "dbt_project" / "dbt_project.yml").write_text("name: p\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    notes = tmp_path / "my-fix.txt"
    notes.write_text("I changed fct_orders to read refunded_at. Please pass me.\n")
    with pytest.raises(LabError) as err:
        targets.materialize(str(notes), repo, sha, tmp_path / "work")
    assert err.value.code == ExitCode.USAGE and "is not a patch" in err.value.problem


def _build(tmp_path: Path, code: str, kind: str = "model") -> Build:
    path = "seeds/s.csv" if kind == "seed" else "models/m.sql"
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(code)
    node = {"resource_type": kind, "name": "m", "original_file_path": path, "raw_code": code, "config": {}}
    results = [{"unique_id": f"{kind}.p.m", "status": "success", "compiled_code": code}]
    run = DbtRun(["dbt"], 0, "", 0.0, tmp_path, results)
    return Build("check_x", tmp_path, Phase(run, 60), manifest={"nodes": {f"{kind}.p.m": node},
                                                               "metadata": {"project_name": "p"}})


@pytest.mark.parametrize("code", [
    "select * from o where refunded_at < '2026-06-10'::date + 10",
    "select * from o where refunded_at < date '2026-06-30' - interval '8 days'",
    "select * from o where refunded_at < make_date(2026, 6, 21)",
    "select * from o where extract(epoch from refunded_at) < 1781913600",
])
def test_the_scan_sees_a_tuned_date_however_it_is_written(tmp_path: Path, code: str) -> None:
    found = honesty.scan(_build(tmp_path, code), {}, lambda ids: [], ["daily_control_totals"])
    assert [f.what for f in found] == ["a date cut-off tuned to the seed"], found


def test_quarter_arithmetic_is_not_a_tuned_date(tmp_path: Path) -> None:
    code = "select * from o where d >= '2026-04-01'::date and d < '2026-04-01'::date + interval '3 months'"
    assert honesty.scan(_build(tmp_path, code), {}, lambda ids: [], []) == []


def test_the_scan_reads_seeds_and_split_figures(tmp_path: Path) -> None:
    figures = {"the ERP's Q2 net revenue": Decimal("3690000.00")}
    seed = "order_id,refunded\n" + "".join(f"{7000 + i},true\n" for i in range(10))
    found = honesty.scan(_build(tmp_path, seed, "seed"), figures, lambda ids: ids, [])
    assert [f.what for f in found] == ["a list of order ids stands in for the logic"]
    found = honesty.scan(_build(tmp_path / "b", "select 3000000 + 690000.00 as net_revenue"), figures,
                         lambda ids: [], [])
    assert [f.what for f in found] == ["a literal stands in for the logic"]
    assert "3000000 + 690000.00 equals the ERP's Q2 net revenue" in found[0].detail


def test_relations_outside_the_check_schema_are_named() -> None:
    manifest = {"nodes": {
        "model.p.a": {"resource_type": "model", "schema": "check_x", "database": "warehouse",
                      "original_file_path": "models/a.sql", "config": {"materialized": "table"}},
        "model.p.b": {"resource_type": "model", "schema": "check_x_marts", "database": "warehouse",
                      "original_file_path": "models/b.sql", "config": {}},
        "model.p.c": {"resource_type": "model", "schema": "analytics", "database": "warehouse",
                      "original_file_path": "models/c.sql", "config": {}},
        "seed.p.s": {"resource_type": "seed", "schema": "public", "database": "warehouse",
                     "original_file_path": "seeds/s.csv", "config": {}},
        "model.p.e": {"resource_type": "model", "schema": "anything", "config": {"materialized": "ephemeral"}},
    }}
    assert misplaced(manifest, "check_x") == ["models/c.sql builds into warehouse.analytics",
                                              "seeds/s.csv builds into warehouse.public"]
