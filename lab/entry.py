"""The `lab` command's entry point. The checker's commands (check, grade, rollup, roster) are the checker's
own process (`python -m checks`, which never shares a process with the lab): they are exec'd at once, before
the lab's modules are imported for nothing — a learner presses `lab check` many times."""

from __future__ import annotations

import os
import sys

CHECKER_COMMANDS = ("check", "grade", "rollup", "roster")
PROG = "INCIDENT_LAB_PROG"


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in CHECKER_COMMANDS:
        # (the checker's usage lines then say `lab check …`, as the learner typed it)
        os.execve(sys.executable, [sys.executable, "-m", "checks", *args], {**os.environ, PROG: "lab"})
    from lab.cli import main as lab_main

    lab_main()
