"""The hint ladder (lab/hints.toml), one more hint per call; the count is kept in ops.lab_state."""

from __future__ import annotations

from pathlib import Path

import tomllib

from lab import bootstrap
from lab.stack import Lab


def ladder() -> list[str]:
    doc = tomllib.loads((Path(__file__).parent / "hints.toml").read_text())
    return [" ".join(h["text"].split()) for h in doc["hint"]]  # one paragraph each, wrapped by the terminal


def next_hint(lab: Lab) -> tuple[int, int, str]:
    hints = ladder()
    with lab.warehouse.connect("warehouse") as conn:
        used = (bootstrap.get_state(conn, "hints") or {}).get("used", 0)
        number = min(used + 1, len(hints))
        bootstrap.set_state(conn, "hints", {"used": number})
    return number, len(hints), hints[number - 1]
