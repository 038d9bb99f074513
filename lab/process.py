"""Native processes: start detached in their own session, find them by pidfile, stop the whole group.

Hand-written on purpose: mirakuru's executors block on start-up and own the child for the life of the
Python process, while the lab starts servers that must outlive the `lab up` command that started them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from lab.errors import ExitCode, LabError


def spawn(argv: Sequence[str], log: Path, pidfile: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> int:
    """Start argv in a new session (so `stop` can kill its whole group), output appended to log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd, start_new_session=True, close_fds=True)
    pidfile.write_text(f"{proc.pid}\n")
    return proc.pid


def read_pid(pidfile: Path, marker: str | None = None) -> int | None:
    """The pid in pidfile if that process is alive (and its command line contains marker)."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if marker and marker not in " ".join(proc.cmdline()):
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return pid


def exited_early(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def stop(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL whatever is left of it."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    while _group_alive(pgid) and time.monotonic() < deadline + 5:
        time.sleep(0.05)


def kill9(pid: int) -> None:
    """Hard-kill one process (fault injection)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    # reap our own zombie children, if any
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    return False


def lab_processes(lab_dir: Path) -> list[psutil.Process]:
    """Live processes that belong to the lab in lab_dir: a path under it on their command line, or
    LAB_HOME pointing at it (the orders service)."""
    root = str(lab_dir)
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.pid == os.getpid():
                continue
            args = proc.info["cmdline"] or []
            if any(a == root or a.startswith(root + "/") or ("=" + root + "/") in a for a in args):
                found.append(proc)
            elif any(a.startswith("lab.") for a in args) and proc.environ().get("LAB_HOME") == root:
                found.append(proc)  # the lab's Python services carry LAB_HOME, not a path
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def port_owner(port: int) -> str | None:
    """'name (pid N)' of the process listening on port, when the OS lets us see it."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError):
        return None
    for c in conns:
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
            try:
                return f"{psutil.Process(c.pid).name()} (pid {c.pid})"
            except psutil.NoSuchProcess:
                return f"pid {c.pid}"
    return None


def require_free_port(port: int, component: str) -> None:
    if not port_in_use(port):
        return
    owner = port_owner(port)
    by = f" by {owner}" if owner else ""
    env = "LAB_PORT_" + component.upper().replace("-", "_")
    raise LabError(f"port {port} for {component} is already taken{by}",
                   f"stop that process or choose another port, e.g. {env}={port + 100} make lab-up",
                   ExitCode.LAB_UNHEALTHY)


def tail(path: Path, lines: int = 15) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(data[-lines:])


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "", log: Path | None = None,
             pid: int | None = None) -> None:
    """Poll predicate until true; fail fast if the watched pid died; on timeout name the evidence."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - readiness probes fail in many ways while a server starts
            pass
        if pid is not None and exited_early(pid):
            raise LabError(f"{what} exited during start-up", f"read {log}" if log else "",
                           ExitCode.LAB_UNHEALTHY, detail=tail(log) if log else "")
        if time.monotonic() > deadline:
            raise LabError(f"{what} not ready after {timeout:.0f} s", f"read {log}" if log else "",
                           ExitCode.LAB_UNHEALTHY, detail=tail(log) if log else "")
        time.sleep(interval)
