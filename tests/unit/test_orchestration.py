"""The orchestration of `lab up`, `lab reset`, `lab down` and `lab status`, on the fake runtime: which steps
run, in which order, and what is left alone. Nothing here starts a server — the real-stack tiers
(tests/integration, tests/faults, tests/docker) run the same code on the native and docker runtimes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import bootstrap, code, config, dbt, incident, lifecycle, runtime, sync
from lab import reset as reset_mod
from lab import status as status_mod
from lab.components.base import Health
from lab.errors import LabError
from lab.runtime.fake import FakeRuntime
from lab.stack import build

pytestmark = pytest.mark.unit


class Journal(list):
    def note(self, what: str):
        def record(*_a, **_k):
            self.append(what)
        return record


class FakeBuild:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def go(self, timeout: float = 300):
        self.journal.append("dbt build")
        return dbt.DbtRun(["dbt"], 0, "", 0.1, Path("."))

    def cancel(self) -> None:
        pass


@pytest.fixture
def fake_lab(tmp_path, monkeypatch):
    """A lab on the fake runtime whose every server-side operation only notes that it happened."""
    settings = config.settings(environ={"LAB_HOME": str(tmp_path / "home"), "LAB_INSTANCE": "97"})
    rt = FakeRuntime(settings)
    lab = build(settings, rt)
    journal = Journal()
    fresh = {"oltp": True, "warehouse": True}
    for comp in lab.all:
        monkeypatch.setattr(comp, "wait_ready", lambda *a, **k: None)
    monkeypatch.setattr(bootstrap, "oltp_ready", lambda lab: not fresh["oltp"])
    monkeypatch.setattr(bootstrap, "warehouse_ready", lambda lab: not fresh["warehouse"])
    for name in ("ensure_oltp_templates", "ensure_warehouse_template", "clone_oltp", "clone_warehouse", "stamp",
                 "drop_slot", "forget_queries", "capture_raw", "refresh_landing_times"):
        monkeypatch.setattr(bootstrap, name, journal.note(name))
    captured = {"raw": True}
    monkeypatch.setattr(bootstrap, "raw_captured", lambda server, seed: captured["raw"])
    monkeypatch.setattr(bootstrap, "create_slot", lambda server: journal.append("create_slot") or 42)
    monkeypatch.setattr(bootstrap, "models_built", lambda server, seed, digest: False)
    monkeypatch.setattr(bootstrap, "build_models", journal.note("build_models"))
    monkeypatch.setattr(code, "digest", lambda project: "digest")
    monkeypatch.setattr(code, "is_shipped", lambda settings: True)
    for name in ("register", "resume_stopped", "wait_connectors", "stop_and_reset_offsets", "resume_all",
                 "set_source_offset"):
        monkeypatch.setattr(lab.connect, name, journal.note(f"connect.{name}"))
    monkeypatch.setattr(lab.kafka, "create_topics", journal.note("kafka.create_topics"))
    monkeypatch.setattr(lab.kafka, "delete_topics", journal.note("kafka.delete_topics"))
    monkeypatch.setattr(sync, "wait_in_sync", journal.note("wait_in_sync"))
    monkeypatch.setattr(incident, "tile", lambda *a, **k: None)
    monkeypatch.setattr(lifecycle, "prepare_build", lambda lab: FakeBuild(journal))
    monkeypatch.setattr(code, "ensure_pristine", journal.note("code.ensure_pristine"))
    monkeypatch.setattr(code, "restore", lambda s: journal.append("code.restore"))
    monkeypatch.setattr(lab.session.__class__, "begin", lambda self, seed, lab_id: journal.append(f"begin {seed}"))
    monkeypatch.setattr(lab.session.__class__, "try_read", lambda self: None)
    monkeypatch.setattr(lab.session.__class__, "record", lambda self, kind, **detail: journal.append(f"event {kind}"))
    lab.captured = captured  # the tests flip it: is raw.* in the seed's warehouse template?
    return lab, rt, journal, fresh


def test_a_fresh_up_seeds_starts_the_pipeline_then_the_clock_then_the_services(fake_lab) -> None:
    lab, rt, journal, _ = fake_lab
    lifecycle.up(lab.settings, lab=lab)
    started = [name for call, name in rt.calls if call == "start"]
    assert started[:4] == ["oltp", "warehouse", "kafka", "connect"]
    assert started[4:] == [s.name for s in lab.services]
    order = [j for j in journal if j in ("clone_oltp", "clone_warehouse", "connect.register", "begin 516",
                                         "dbt build")]
    assert order.index("clone_warehouse") < order.index("connect.register") < order.index("begin 516") \
        < order.index("dbt build")
    assert (lab.settings.lab_dir / "runtime").read_text().strip() == "fake"


def test_up_on_a_running_lab_starts_nothing_and_keeps_the_clock(fake_lab) -> None:
    lab, rt, journal, fresh = fake_lab
    fresh.update(oltp=False, warehouse=False)
    rt.start([c.comp for c in lab.all])
    rt.calls.clear()
    lifecycle.up(lab.settings, lab=lab)
    assert [c for c in rt.calls if c[0] == "start"] == []
    assert not any(j.startswith("begin") or j.startswith("clone") for j in journal)


def test_up_restarts_only_what_is_down(fake_lab) -> None:
    lab, rt, journal, fresh = fake_lab
    fresh.update(oltp=False, warehouse=False)
    rt.start([c.comp for c in lab.all])
    rt.kill(lab.connect.comp)
    rt.calls.clear()
    lifecycle.up(lab.settings, lab=lab)
    assert [n for c, n in rt.calls if c == "start"] == ["connect"]


STEPS = ("code.restore", "connect.stop_and_reset_offsets", "drop_slot", "kafka.delete_topics", "clone_oltp",
         "clone_warehouse", "refresh_landing_times", "create_slot", "connect.set_source_offset", "connect.resume_all",
         "begin 7", "wait_in_sync", "capture_raw", "dbt build")


def test_reset_restores_the_data_then_debezium_streams_from_a_new_slot(fake_lab) -> None:
    lab, rt, journal, fresh = fake_lab
    fresh.update(oltp=False, warehouse=False)
    rt.start([c.comp for c in lab.all])
    rt.calls.clear()
    reset_mod.reset(lab.settings, seed=7, lab=lab)
    stops = [n for c, n in rt.calls if c == "stop"]
    assert stops == ["orders-service", "scheduler"]  # the workspace (if any) and the servers keep running
    seq = [j for j in journal if j in STEPS]
    clones = sorted(["clone_oltp", "clone_warehouse"], key=seq.index)
    assert seq == ["code.restore", "connect.stop_and_reset_offsets", "drop_slot", "kafka.delete_topics", *clones,
                   "refresh_landing_times", "create_slot", "connect.set_source_offset", "connect.resume_all", "begin 7",
                   "wait_in_sync", "dbt build"]  # (the wait is the services' start: already in sync, it is instant)
    assert [n for c, n in rt.calls if c == "start"] == ["orders-service", "scheduler"]


def test_reset_of_a_seed_without_captured_raw_resnapshots_and_keeps_what_came(fake_lab) -> None:
    lab, rt, journal, fresh = fake_lab
    fresh.update(oltp=False, warehouse=False)
    lab.captured["raw"] = False
    rt.start([c.comp for c in lab.all])
    reset_mod.reset(lab.settings, seed=7, lab=lab)
    seq = [j for j in journal if j in STEPS]
    assert "create_slot" not in seq and "connect.set_source_offset" not in seq
    order = [seq.index(step) for step in ("connect.resume_all", "wait_in_sync", "capture_raw", "dbt build")]
    assert order == sorted(order)


def test_reset_with_a_component_down_recovers_it_first(fake_lab) -> None:
    lab, rt, journal, fresh = fake_lab
    fresh.update(oltp=False, warehouse=False)
    rt.start([c.comp for c in lab.all])
    rt.kill(lab.kafka.comp)
    rt.calls.clear()
    reset_mod.reset(lab.settings, seed=516, keep_code=True, lab=lab)
    assert rt.calls.index(("start", "kafka")) < rt.calls.index(("stop", "orders-service"))
    assert "code.restore" not in journal


def test_down_stops_services_then_connect_then_the_rest(fake_lab) -> None:
    lab, rt, _, _ = fake_lab
    rt.start([c.comp for c in lab.all])
    rt.calls.clear()
    lifecycle.down(lab.settings, wipe=True, lab=lab)
    stops = [n for c, n in rt.calls if c == "stop"]
    services = {s.name for s in lab.services}
    assert set(stops[:len(services)]) == services and stops[len(services)] == "connect"
    assert set(stops[len(services) + 1:]) == {"kafka", "oltp", "warehouse"}
    assert rt.calls[-1] == ("down", "wipe")


def test_status_of_a_stopped_lab_shows_every_component_down_and_no_figures(fake_lab) -> None:
    lab, _, _, _ = fake_lab
    report = status_mod.collect(lab)
    assert not report.healthy
    assert all(not h.healthy and h.detail == "not running" for h in report.components)
    assert report.incident == {} and report.foreign == {} and report.unavailable == {}


def test_status_reports_a_foreign_server_instead_of_its_figures(fake_lab, monkeypatch) -> None:
    lab, rt, _, _ = fake_lab
    rt.start([c.comp for c in lab.all])
    monkeypatch.setattr(lab.warehouse, "owner", lambda db: "someone-else")
    monkeypatch.setattr(lab.oltp, "owner", lambda db: lab.settings.lab_id)
    running = {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}
    monkeypatch.setattr(lab.connect, "status", lambda name: running)
    for comp in lab.all:
        monkeypatch.setattr(comp, "health", lambda c=comp: Health(c.name, True, None, 1, "ok"))
    report = status_mod.collect(lab)
    assert "warehouse" in report.foreign and "someone-else" in report.foreign["warehouse"]
    assert not report.healthy and report.rows == {} and report.incident == {}


def test_the_runtime_is_chosen_once_and_kept(tmp_path, monkeypatch) -> None:
    from lab.runtime import docker, native

    s = config.settings(environ={"LAB_HOME": str(tmp_path / "h")})
    monkeypatch.setattr(native, "available", lambda s: (False, "native runtime: Java 17+ not found"))
    monkeypatch.setattr(docker, "engine_answers", lambda: True)
    assert runtime.choose(s) == ("docker", "native runtime: Java 17+ not found; a Docker engine answers")
    runtime.remember(s, "docker")
    monkeypatch.setattr(native, "available", lambda s: (True, "Java 17 and PostgreSQL 15 found"))
    assert runtime.choose(s)[0] == "docker"  # its data lives in docker volumes: it stays there
    forced = config.settings(environ={"LAB_HOME": str(tmp_path / "h"), "LAB_RUNTIME": "native"})
    with pytest.raises(LabError, match="made with the docker runtime"):
        runtime.choose(forced)
    monkeypatch.setattr(native, "available", lambda s: (False, "native runtime: no Java"))
    monkeypatch.setattr(docker, "engine_answers", lambda: False)
    with pytest.raises(LabError, match="no runtime can run the lab here"):
        runtime.choose(config.settings(environ={"LAB_HOME": str(tmp_path / "new")}))


def test_status_says_which_figures_it_could_not_read(fake_lab, monkeypatch) -> None:
    lab, rt, _, _ = fake_lab
    rt.start([c.comp for c in lab.all])
    for comp in lab.all:
        monkeypatch.setattr(comp, "health", lambda c=comp: Health(c.name, True, None, 1, "ok"))
    monkeypatch.setattr(lab.connect, "status", lambda name: None)

    def broker_gone(topics):
        raise RuntimeError("KafkaError: _TRANSPORT\nmore detail")

    monkeypatch.setattr(lab.kafka, "end_offsets", broker_gone)
    report = status_mod.collect(lab)
    assert report.end_offsets == {}
    assert report.unavailable["topic offsets"] == "RuntimeError: KafkaError: _TRANSPORT"
    assert "unavailable" in report.as_dict()
