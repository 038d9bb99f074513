"""Fixtures of the grading tests: reports built from real Report objects (unit), and for the end-to-end
roster test the running lab and the lab repository whose `main` is this working tree."""

from __future__ import annotations

from tests.checker.conftest import base_repo  # noqa: F401 - the lab repository at its "pinned" commit
