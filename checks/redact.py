"""Nothing of the grading machine's environment reaches a report.

dbt runs learner code with an environment of its own (lab/dbt.py `dbt_env`), so a learner's `env_var()`
finds no secret to print. This is the second line: before a report is shown or written, every text in it
loses the values of the grader's secret-looking environment variables and the grader's own folders.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from checks.outcome import Report

_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASS(WORD|WD)?|KEY|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)
MIN_SECRET = 6  # shorter values would blank ordinary words


def replacements(folders: dict[str, Path]) -> list[tuple[str, str]]:
    """(text, replacement) pairs, longest first so a folder inside another is replaced as a whole."""
    pairs = [(value, "***") for name, value in os.environ.items()
             if _SECRET_NAME.search(name) and len(value) >= MIN_SECRET]
    pairs += [(str(path), label) for label, path in folders.items() if len(str(path)) > 1]
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def text(value: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        value = value.replace(old, new)
    return value


def _walk(value: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        return text(value, pairs)
    if isinstance(value, list):
        return [_walk(v, pairs) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, pairs) for k, v in value.items()}
    return value


def report(rep: Report, folders: dict[str, Path]) -> Report:
    """Redact rep in place (its messages, details and lab facts) and return it."""
    pairs = replacements(folders)
    for c in rep.criteria:
        c.message = text(c.message, pairs)
        c.details = _walk(c.details, pairs)
    rep.error = text(rep.error, pairs) if rep.error else rep.error
    rep.lab = _walk(rep.lab, pairs)
    return rep
