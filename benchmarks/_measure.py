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
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """(result, wall seconds, peak bytes)."""
    with PeakRSS() as rss:
        t = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t
    return out, wall, rss.peak
