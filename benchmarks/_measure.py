"""Wall time and peak resident memory of this process and its children."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psutil


class PeakRSS:
    """Samples the summed RSS of this process and all its descendants."""

    def __init__(self, every: float = 0.05) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        #: CPU seconds (user + system) per process seen, last sample; a shared machine's
        #: load stretches wall time, not CPU time
        self.cpu: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                    t = p.cpu_times()
                    self.cpu[p.pid] = t.user + t.system
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRSS:
        me = psutil.Process().cpu_times()
        self._base = me.user + me.system
        self._thread.start()
        return self

    @property
    def cpu_seconds(self) -> float:
        me = psutil.Process().cpu_times()
        self.cpu[psutil.Process().pid] = me.user + me.system
        return sum(self.cpu.values()) - self._base

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def tree_cpu() -> float:
    """CPU seconds (user + system) of this process and every descendant, finished ones
    included (a reaped child's time moves to its parent's children_* counters): large
    inputs are checked in an ingest worker process, whose time counts too."""
    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            ct = p.cpu_times()
            total += ct.user + ct.system + ct.children_user + ct.children_system
        except psutil.Error:
            pass
    return total


LAST_CPU: list[float] = []


def measure(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """(result, wall seconds, peak bytes); the CPU seconds of the process tree are
    appended to LAST_CPU and printed by :func:`report_cpu`."""
    with PeakRSS() as rss:
        t = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t
    LAST_CPU.append(rss.cpu_seconds)
    return out, wall, rss.peak


def report_cpu(label: str) -> None:
    cores = psutil.cpu_count() or 1
    cpu = LAST_CPU[-1]
    load = psutil.getloadavg()[0]
    print(f"  {label}: {cpu:.1f} CPU s (= {cpu / cores:.1f} s on {cores} idle cores); load average {load:.1f}")
