"""Is the lab able to judge? Every component healthy and both connectors RUNNING, checked first."""

from __future__ import annotations

from checks.outcome import CheckError
from lab.api import Lab
from lab.errors import ExitCode, LabError

NOT_RUNNING = LabError("the lab is not running", "start it with `make lab-up`", ExitCode.LAB_UNHEALTHY)


def require_running(lab: Lab) -> None:
    """Before `lab up` there is nothing to judge against: one line, exit 2."""
    if not lab.warehouse.pid() or not lab.oltp.pid():
        raise NOT_RUNNING


def require_healthy(lab: Lab) -> None:
    require_running(lab)
    down = [h for h in (c.health() for c in lab.all) if not h.healthy]
    if down:
        what = ", ".join(f"{h.name} ({h.detail})" for h in down)
        raise CheckError(f"the lab is not healthy: {what}",
                         "`lab up` starts what is down (`lab logs NAME` says why), then run the check again")
    for name in lab.connect.connector_names:
        st = lab.connect.status(name)
        if not lab.connect.running(st):
            tasks = ", ".join(f"task {t['id']} {t['state']}" for t in (st or {}).get("tasks", [])) or "no tasks"
            state = f"{st['connector']['state']} ({tasks})" if st else "not registered"
            raise CheckError(f"connector {name} is not RUNNING: {state}",
                             "`lab up` restarts it (`lab logs connect` says why), then run the check again")


def require_healthy_or_exit(lab: Lab) -> None:
    """For `lab check`: an unhealthy lab is one line (what to do) and exit 2, before any report."""
    try:
        require_healthy(lab)
    except CheckError as err:
        raise LabError(f"{err.problem} — the checker cannot judge your fix (not your fault)", err.fix,
                       ExitCode.LAB_UNHEALTHY) from err
