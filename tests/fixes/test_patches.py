"""The fixes in this folder still apply to the shipped dbt_project and touch nothing else (no servers)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PATCHES = sorted(HERE.glob("*/*.patch"))


def test_every_patch_is_indexed() -> None:
    indexed = set(re.findall(r'^patch = "(.+)"$', (HERE / "index.toml").read_text(), re.M))
    assert indexed == {str(p.relative_to(HERE)) for p in PATCHES}
    assert "reference/reference.patch" in indexed


def _outside_allowed() -> set[str]:
    """Patches whose point is a change outside dbt_project/ (criterion 1 must catch them)."""
    doc = tomllib.loads((HERE / "index.toml").read_text())
    entries = [doc["reference"], *doc.get("correct", {}).values(), *doc.get("wrong", {}).values(),
               *doc.get("attack", {}).values()]
    return {e["patch"] for e in entries if 1 in e.get("caught_by", [])}


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.stem)
def test_patch_touches_only_dbt_project(patch: Path) -> None:
    paths = re.findall(r"^diff --git a/(\S+) b/(\S+)$", patch.read_text(), re.M)
    assert paths
    inside = [a.startswith("dbt_project/") and b.startswith("dbt_project/") for a, b in paths]
    if str(patch.relative_to(HERE)) in _outside_allowed():
        assert any(inside) and not all(inside)
    else:
        assert all(inside)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.stem)
def test_patch_applies_to_the_shipped_project(patch: Path) -> None:
    proc = subprocess.run(["git", "apply", "--check", str(patch)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
