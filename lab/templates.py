"""Render the config templates in stack/ (Jinja2 `{{ }}` placeholders; Debezium's own `${...}` pass through)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

_env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


def render_text(path: Path, values: dict[str, Any]) -> str:
    return _env.from_string(path.read_text()).render(**values)


def render_connector(path: Path, values: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render_text(path, values))
    return doc


def write_if_changed(path: Path, text: str) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
