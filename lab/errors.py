"""One error type for everything a user can cause, and the exit codes shared by the CLI and the checker."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1  # the command ran and the answer is "no" (a check failed, a component is down)
    LAB_UNHEALTHY = 2  # the lab itself cannot do the job (not up, a component down, did not settle)
    USAGE = 64


class LabError(Exception):
    """A failure with a one-line explanation and the command or step that fixes it."""

    def __init__(self, problem: str, fix: str = "", code: ExitCode = ExitCode.FAILED, detail: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.code = code
        self.detail = detail  # evidence (e.g. the last log lines), printed before the one-line error

    def line(self) -> str:
        return f"Error: {self.problem}" + (f" — {self.fix}" if self.fix else "")
