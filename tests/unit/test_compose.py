"""stack/compose.yaml agrees with stack/components.toml: the two runtimes cannot drift apart."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from lab.config import settings
from lab.runtime import docker

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def s():
    return settings()


@pytest.fixture(scope="module")
def compose(s):
    return yaml.safe_load((s.root / "stack" / "compose.yaml").read_text())


def test_compose_file_is_the_rendering_of_the_description(s):
    assert (s.root / "stack" / "compose.yaml").read_text() == docker.render_compose(s), \
        "stack/compose.yaml is stale: run `lab compose`"


def test_every_server_component_is_a_service_with_its_pinned_image(s, compose):
    servers = {n: c for n, c in s.stack.components.items() if c.kind != "python"}
    assert set(compose["services"]) == set(servers)
    for name, comp in servers.items():
        assert compose["services"][name]["image"] == comp.spec["image"]
        assert not compose["services"][name]["image"].endswith(":latest")


def test_images_carry_the_versions_of_the_native_runtime(s, compose):
    v = s.stack.versions
    assert compose["services"]["kafka"]["image"].endswith(":" + v["kafka"])
    assert compose["services"]["connect"]["image"].endswith(":" + v["debezium"])
    for pg in ("oltp", "warehouse"):
        assert compose["services"][pg]["image"] == f"postgres:{v['postgres']}"
    pom = (s.root / "stack" / "jvm" / "pom.xml").read_text()
    assert f"<kafka.version>{v['kafka']}</kafka.version>" in pom
    assert f"<debezium.version>{v['debezium']}</debezium.version>" in pom


def test_published_ports_are_the_described_ports_on_loopback(s, compose):
    for name, comp in s.stack.components.items():
        if comp.port is None:
            continue
        ports = compose["services"][name]["ports"]
        assert any(re.fullmatch(rf"127\.0\.0\.1:{comp.port}:\d+", p) for p in ports), (name, ports)


def test_oltp_has_logical_decoding_in_both_runtimes(s, compose):
    assert s.stack.components["oltp"].spec["settings"]["wal_level"] == "logical"
    cmd = compose["services"]["oltp"]["command"]
    assert "wal_level=logical" in cmd


def test_connector_configs_match_the_connector_files(s, compose):
    for path in s.stack.components["connect"].spec["connectors"]:
        raw = json.loads((s.root / path).read_text())
        got = compose["x-lab-connectors"][raw["name"]]
        assert set(got) == set(raw["config"])
        for key, value in raw["config"].items():
            if "{{" not in value:
                assert got[key] == value, key
        assert got["connector.class"] == raw["config"]["connector.class"]


def test_connect_waits_for_healthy_dependencies(s, compose):
    deps = compose["services"]["connect"]["depends_on"]
    assert set(deps) == set(s.stack.components["connect"].depends_on)
    assert all(d["condition"] == "service_healthy" for d in deps.values())
    for svc in compose["services"].values():
        assert "healthcheck" in svc
