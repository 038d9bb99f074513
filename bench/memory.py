"""Peak resident memory of every process of a bench lab, sampled in the background for the whole run.

Which processes: each component's main process and all its descendants (PostgreSQL's postmaster and every
backend, the two JVMs, the orders service, the scheduler and the dbt runs it starts, the workspace and the
checks it runs), plus any process whose command line names the lab's folder (a dbt run started by `lab up`
or `lab reset`). With the docker runtime the components' main processes are the containers' processes as
the host sees them (their host pids), and the engine is counted too: dockerd and containerd (shared by
every container of the machine, counted whole), the containerd-shim of each of the lab's containers, and
the docker-proxy of each of the lab's published ports.

Two sums are kept. RSS counts a page shared by several processes once per process (PostgreSQL's shared
buffers, shared libraries), so its sum is an upper bound; PSS splits each shared page between the
processes that map it, so its sum is the memory the lab really holds. The bar is judged on the RSS sum:
if the upper bound is under the bar, the stack is.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from lab import process

ENGINE = ("dockerd", "containerd")  # exact process names


@dataclass
class Sample:
    at: float
    phase: str
    rss: int
    pss: int
    processes: int
    by_component: dict[str, int] = field(default_factory=dict)


def engine_processes(container_pids: Iterable[int], ports: Iterable[int]) -> dict[int, tuple[str, psutil.Process]]:
    """The engine's processes that serve this lab: dockerd and containerd, the shims of its containers (the
    parent of each container's first process), the docker-proxy of each of its published ports."""
    found: dict[int, tuple[str, psutil.Process]] = {}
    wanted_ports = {str(p) for p in ports}
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        name = proc.info["name"] or ""
        if name in ENGINE:
            found[proc.pid] = ("engine: " + name, proc)
        elif name == "docker-proxy":
            args = proc.info["cmdline"] or []
            port = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-host-port"), None)
            if port in wanted_ports:
                found[proc.pid] = ("engine: docker-proxy", proc)
    for pid in container_pids:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            parent = psutil.Process(pid).parent()
            if parent is not None and parent.name().startswith("containerd-shim"):
                found[parent.pid] = ("engine: containerd-shim", parent)
    return found


class MemorySampler(threading.Thread):
    def __init__(self, lab_dirs: list[Path], roots: Callable[[], dict[str, int]], interval: float = 2.0,
                 extra: Callable[[], dict[int, tuple[str, psutil.Process]]] | None = None) -> None:
        super().__init__(daemon=True, name="memory-sampler")
        self.lab_dirs = lab_dirs
        self.roots = roots  # component name -> main pid, read afresh each sample (pids change on restart)
        self.extra = extra  # further processes, counted without their descendants (the engine)
        self.interval = interval
        self.phase = "start"
        self.peak: Sample | None = None
        self.peak_pss: Sample | None = None
        self.peaks_by_phase: dict[str, int] = {}
        self.samples = 0
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=15)

    def run(self) -> None:
        while not self._stop_event.is_set():
            # a process vanishing mid-sample must not end the sampling
            with contextlib.suppress(Exception):
                self.sample()
            self._stop_event.wait(self.interval)

    def processes(self) -> dict[int, tuple[str, psutil.Process]]:
        found: dict[int, tuple[str, psutil.Process]] = {}
        for name, pid in self.roots().items():
            try:
                root = psutil.Process(pid)
                for proc in [root, *root.children(recursive=True)]:
                    found.setdefault(proc.pid, (name, proc))
            except psutil.NoSuchProcess:
                continue
        for proc in (p for lab_dir in self.lab_dirs for p in process.lab_processes(lab_dir)):
            try:
                for p in [proc, *proc.children(recursive=True)]:
                    found.setdefault(p.pid, ("other (dbt runs, checks)", p))
            except psutil.NoSuchProcess:
                continue
        if self.extra is not None:
            for pid, entry in self.extra().items():
                found.setdefault(pid, entry)
        return found

    def sample(self) -> Sample:
        rss = pss = 0
        by_component: dict[str, int] = {}
        procs = self.processes()
        for name, proc in procs.values():
            try:
                full = proc.memory_full_info()
            except psutil.AccessDenied:
                try:
                    mem = proc.memory_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                rss += mem.rss
                pss += mem.rss
                by_component[name] = by_component.get(name, 0) + mem.rss
                continue
            except psutil.NoSuchProcess:
                continue
            rss += full.rss
            pss += getattr(full, "pss", full.rss)
            by_component[name] = by_component.get(name, 0) + full.rss
        sample = Sample(time.time(), self.phase, rss, pss, len(procs), by_component)
        self.samples += 1
        if self.peak is None or rss > self.peak.rss:
            self.peak = sample
        if self.peak_pss is None or pss > self.peak_pss.pss:
            self.peak_pss = sample
        self.peaks_by_phase[self.phase] = max(self.peaks_by_phase.get(self.phase, 0), rss)
        return sample

    def summary(self) -> dict:
        peak, peak_pss = self.peak, self.peak_pss
        if peak is None:
            return {"status": "not measured (no sample)"}
        return {"peak_rss_bytes": peak.rss, "peak_pss_bytes": peak_pss.pss if peak_pss else None,
                "processes_at_peak": peak.processes, "phase_at_peak": peak.phase,
                "by_component_at_peak_mib": {k: round(v / 2**20) for k, v in sorted(peak.by_component.items())},
                "peak_rss_by_phase_mib": {k: round(v / 2**20) for k, v in self.peaks_by_phase.items()},
                "samples": self.samples, "interval_s": self.interval}


class ProcessPeak(threading.Thread):
    """The peak RSS of one process (the workspace server), and separately of its descendants (the checks it
    runs), sampled every `interval` seconds until stopped."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True, name="process-peak")
        self.pid = pid
        self.interval = interval
        self.peak_rss = 0
        self.peak_children_rss = 0
        self.samples = 0
        self.error: str | None = None
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        if self.ident is not None:  # a step before sampling may have failed; its error is the one to report
            self.join(timeout=5)

    def run(self) -> None:
        try:
            proc = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            self.error = f"process {self.pid} is gone"
            return
        while not self._stop_event.is_set():
            try:
                self.peak_rss = max(self.peak_rss, proc.memory_info().rss)
                children = 0
                for child in proc.children(recursive=True):
                    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                        children += child.memory_info().rss
                self.peak_children_rss = max(self.peak_children_rss, children)
                self.samples += 1
            except psutil.NoSuchProcess:
                self.error = f"process {self.pid} exited while measured"
                return
            self._stop_event.wait(self.interval)
