"""The lab is the incident and the checker judges it, never the other way round: `lab` does not import
`checks` (the workspace and the CLI reach the checker through `lab.api.check`, a process of its own)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_lab_never_imports_checks() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.split(".")[0] == "checks")
                 for p in (ROOT / "lab").rglob("*.py")}
    assert {p: m for p, m in offenders.items() if m} == {}


def test_the_scan_sees_an_import_of_checks(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom checks.build import Build\n")
    assert "checks.build" in imported_modules(sample)
