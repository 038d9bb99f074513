"""Peak resident memory of every process of the bench lab, sampled in the background for the whole run.

Which processes: each component's main process and all its descendants (PostgreSQL's postmaster and
every backend, the two JVMs, the orders service, the scheduler and the dbt runs it starts), plus any
process whose command line names the lab's folder (a dbt run started by `lab up` or `lab reset`).

Two sums are kept. RSS counts a page shared by several processes once per process (PostgreSQL's shared
buffers, shared libraries), so its sum is an upper bound; PSS splits each shared page between the
processes that map it, so its sum is the memory the lab really holds. The bar is judged on the RSS sum:
if the upper bound is under the bar, the stack is.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from lab import process


@dataclass
class Sample:
    at: float
    phase: str
    rss: int
    pss: int
    processes: int
    by_component: dict[str, int] = field(default_factory=dict)


class MemorySampler(threading.Thread):
    def __init__(self, lab_dir: Path, roots: Callable[[], dict[str, int]], interval: float = 1.0) -> None:
        super().__init__(daemon=True, name="memory-sampler")
        self.lab_dir = lab_dir
        self.roots = roots  # component name -> main pid, read afresh each sample (pids change on restart)
        self.interval = interval
        self.phase = "start"
        self.peak: Sample | None = None
        self.peak_pss: Sample | None = None
        self.peaks_by_phase: dict[str, int] = {}
        self.samples = 0
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

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
        for proc in process.lab_processes(self.lab_dir):
            try:
                for p in [proc, *proc.children(recursive=True)]:
                    found.setdefault(p.pid, ("other (dbt runs)", p))
            except psutil.NoSuchProcess:
                continue
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
