"""The README says what the code does: its settings table is the settings registry, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab import config
from lab.cli import cli

pytestmark = pytest.mark.unit
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_settings_table_is_the_registry() -> None:
    section = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"^\| `(LAB_[A-Z_<>]+)` \|", section, re.M))
    assert names == {k.env for k in config.KNOBS.values()}


def test_every_bin_lab_command_the_readme_names_exists() -> None:
    named = set(re.findall(r"bin/lab ([a-z][a-z-]+)", README))
    assert named <= set(cli.commands) | {"open"}, named - set(cli.commands)
    assert {"up", "status", "check", "grade", "reset", "debrief", "psql", "dbt", "logs", "open"} <= named
