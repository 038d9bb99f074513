"""stack/compose.yaml agrees with stack/components.toml (the two runtimes cannot drift apart), and the loader
of `docker compose` v2 (compose-go, tools/compose-check) accepts it — schema validation alone once let a
file through that `docker compose` refused."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from lab.config import settings
from lab.runtime import compose as compose_mod
from lab.templates import render_text

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def s():
    return settings(environ={})


@pytest.fixture(scope="module")
def doc(s):
    return yaml.safe_load((s.root / "stack" / "compose.yaml").read_text())


def test_compose_file_is_the_rendering_of_the_description(s):
    assert (s.root / "stack" / "compose.yaml").read_text() == compose_mod.render(s), \
        "stack/compose.yaml is stale: run `bin/lab compose`"


def test_every_server_component_is_a_service_built_here_with_its_pinned_image(s, doc):
    servers = {n: c for n, c in s.stack.components.items() if c.kind != "python"}
    assert set(doc["services"]) == set(servers)
    for name, comp in servers.items():
        svc = doc["services"][name]
        assert svc["image"] == comp.spec["image"] and not svc["image"].endswith(":latest")
        assert (s.root / "stack" / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()


def test_images_carry_the_versions_of_the_native_runtime(s, doc):
    v = s.stack.versions
    assert doc["services"]["kafka"]["image"].endswith(f":{v['kafka']}-{v['debezium']}")
    for pg in ("oltp", "warehouse"):
        assert doc["services"][pg]["image"].endswith(f":{v['postgres']}")
    pom = (s.root / "stack" / "jvm" / "pom.xml").read_text()
    assert f"<kafka.version>{v['kafka']}</kafka.version>" in pom
    assert f"<debezium.version>{v['debezium']}</debezium.version>" in pom
    dockerfile = (s.root / "stack" / "docker" / "postgres.Dockerfile").read_text()
    assert f"postgresql-{v['postgres']}" in dockerfile


def test_published_ports_follow_lab_port_variables_on_loopback_only(s, doc):
    for name, comp in s.stack.components.items():
        if comp.kind == "python":
            continue
        ports = doc["services"][name]["ports"]
        env = "LAB_PORT_" + name.upper()
        assert ports and all(re.fullmatch(rf"127\.0\.0\.1:\$\{{{env}:-{comp.port}\}}:\d+", p) for p in ports), ports


def test_server_settings_are_in_plain_sight(s, doc):
    for name in ("oltp", "warehouse"):
        cmd = doc["services"][name]["command"]
        for key, value in s.stack.components[name].spec.get("settings", {}).items():
            assert f"{key}={value}" in cmd
    assert "wal_level=logical" in doc["services"]["oltp"]["command"]


def test_data_lives_in_named_volumes(doc):
    for name in ("oltp", "warehouse", "kafka"):
        volume = doc["services"][name]["volumes"][0].split(":")[0]
        assert volume in doc["volumes"], (name, volume)


def test_connect_waits_for_healthy_dependencies_and_everything_has_a_healthcheck(s, doc):
    deps = doc["services"]["connect"]["depends_on"]
    assert set(deps) == set(s.stack.components["connect"].depends_on)
    assert all(d["condition"] == "service_healthy" for d in deps.values())
    assert all("healthcheck" in svc for svc in doc["services"].values())


def test_the_containers_render_the_same_templates_as_the_native_runtime(s, doc):
    """The images render stack/kafka/server.properties and stack/connect/worker.properties from TPL_* values:
    every placeholder of each template has its value in the service's environment."""
    templates = (("kafka", "stack/kafka/server.properties"), ("connect", "stack/connect/worker.properties"))
    for service, template in templates:
        text = (s.root / template).read_text()
        names = set(re.findall(r"\{\{\s*([\w.]+)\s*\}\}", text))
        env = doc["services"][service]["environment"]
        missing = [n for n in names if "TPL_" + n.upper().replace(".", "_") not in env]
        assert not missing, (service, missing)
    values = {**compose_mod.TEMPLATE_VALUES, "kafka_extra_advertised_listeners": ",HOST://127.0.0.1:19092"}
    rendered = render_text(s.root / "stack" / "kafka" / "server.properties", values)
    assert "advertised.listeners=PLAINTEXT://kafka:9092,HOST://127.0.0.1:19092" in rendered


def test_nothing_compose_would_interpolate_by_surprise(s):
    text = (s.root / "stack" / "compose.yaml").read_text()
    for m in re.finditer(r"(?<!\$)\$\{([^}]*)\}", text):
        assert re.fullmatch(r"LAB_PORT_[A-Z_]+:-\d+", m.group(1)), m.group(0)
    assert "\nname:" not in text  # compose v1 refuses a top-level name; the lab gives -p


@pytest.mark.skipif(shutil.which("go") is None and not os.environ.get("CI"), reason="Go is not installed here")
def test_the_loader_of_docker_compose_v2_accepts_the_file(s):
    """compose-go, the loader `docker compose` uses, with the lab's environment (ports of instance 3)."""
    env = {**os.environ, **settings(environ={"LAB_INSTANCE": "3"}).env()}
    check = s.root / "tools" / "compose-check" / "run"
    proc = subprocess.run([str(check), "-f", str(s.root / "stack" / "compose.yaml"), "-p", "incident-lab-test",
                           "--print"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    loaded = yaml.safe_load(proc.stdout)
    assert loaded["services"]["oltp"]["ports"][0]["published"] == "15460"
    assert loaded["services"]["kafka"]["environment"]["TPL_KAFKA_EXTRA_ADVERTISED_LISTENERS"] == \
        ",HOST://127.0.0.1:19122"


@pytest.mark.skipif(shutil.which("go") is None and not os.environ.get("CI"), reason="Go is not installed here")
def test_the_loader_refuses_what_docker_compose_refuses(tmp_path, s):
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  a:\n    image: x\nx-lab:\n  f: raw.${source.table}\n")
    proc = subprocess.run([str(s.root / "tools" / "compose-check" / "run"), "-f", str(bad), "-p", "t"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "invalid interpolation format" in proc.stdout + proc.stderr
