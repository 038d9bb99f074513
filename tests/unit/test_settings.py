"""Every setting has one environment name; a lab instance gets its own port block and home, derived in one
place; the dbt profile reads the same port variable the lab sets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lab import config
from lab.errors import LabError

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_instance_k_moves_every_port_by_ten_k_and_gets_its_own_home() -> None:
    zero = config.settings(environ={})
    three = config.settings(environ={"LAB_INSTANCE": "3"})
    assert three.instance == 3
    assert {name: port - zero.ports[name] for name, port in three.ports.items()} == {n: 30 for n in zero.ports}
    assert three.lab_dir == (ROOT / ".lab-3").resolve() and zero.lab_dir == (ROOT / ".lab").resolve()


def test_no_two_instances_share_a_port() -> None:
    seen: dict[int, tuple[int, str]] = {}
    for k in range(config.MAX_INSTANCE + 1):
        for name, port in config.settings(environ={"LAB_INSTANCE": str(k)}).ports.items():
            assert port not in seen, f"instance {k} {name} and instance {seen[port]} share {port}"
            assert port < 61000
            seen[port] = (k, name)


def test_one_port_can_still_be_moved_alone() -> None:
    s = config.settings(environ={"LAB_INSTANCE": "2", "LAB_PORT_WAREHOUSE": "55555"})
    assert s.ports["warehouse"] == 55555 and s.ports["oltp"] == 15450


@pytest.mark.parametrize(("key", "value"), [("LAB_INSTANCE", "x"), ("LAB_INSTANCE", "100"), ("LAB_PORT_OLTP", "0"),
                                            ("LAB_RUNTIME", "podman"), ("LAB_DBT_EVERY", "-1")])
def test_a_bad_value_is_one_clear_error(key: str, value: str) -> None:
    with pytest.raises(LabError) as err:
        config.settings(environ={key: value})
    assert key in err.value.line()


def test_settings_round_trip_through_the_environment_of_a_child() -> None:
    s = config.settings(environ={"LAB_INSTANCE": "4", "LAB_DBT_EVERY": "30", "LAB_ORDERS_PER_MINUTE": "60"})
    assert config.settings(environ=s.env()) == s


def test_the_dbt_profile_reads_the_port_variable_the_lab_sets() -> None:
    text = (ROOT / "dbt_project" / "profiles.yml").read_text()
    names = set(re.findall(r"env_var\('(\w+)'", text))
    assert names == {"LAB_PORT_WAREHOUSE"}
    assert config.port_env_name("warehouse") in config.settings(environ={}).env()
    assert yaml.safe_load(text)  # still a valid profile


def test_every_lab_env_name_used_in_the_code_is_a_knob() -> None:
    """One name per setting: an environment variable the lab reads must be in the registry."""
    declared = {k.env for k in config.KNOBS.values()}
    used = set()
    for path in [*ROOT.glob("lab/**/*.py"), *ROOT.glob("checks/**/*.py"), *ROOT.glob("seed/**/*.py")]:
        if path.name == "compose.py":
            continue  # the images' own variables (LAB_HEAP, LAB_PG_TRUST), set in stack/compose.yaml
        used |= set(re.findall(r"[\"'](LAB_[A-Z_]+)[\"']", path.read_text()))
    ports = {config.port_env_name(n) for n in config.settings(environ={}).ports}
    unknown = used - declared - ports - {"LAB_PORT_"}  # the prefix itself, in port_env_name
    assert not unknown, f"LAB_* names read outside the settings registry: {sorted(unknown)}"
