"""The hint ladder (lab/hints.toml), one more hint per call; the count is part of the session."""

from __future__ import annotations

import tomllib
from pathlib import Path

from lab.stack import Lab


def ladder() -> list[str]:
    doc = tomllib.loads((Path(__file__).parent / "hints.toml").read_text())
    return [" ".join(h["text"].split()) for h in doc["hint"]]  # one paragraph each, wrapped by the terminal


def next_hint(lab: Lab) -> tuple[int, int, str]:
    hints = ladder()
    number = lab.session.use_hint(len(hints))
    return number, len(hints), hints[number - 1]
