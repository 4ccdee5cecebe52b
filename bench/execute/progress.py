"""Progress of a run in denoiser passes: a tqdm bar on a terminal, a plain line at a fixed
interval in a log (a cluster job's output, a file), and the channel workers report on.

Workers put (key, passes) on a queue after each training epoch and each evaluated cell; the
main process drains it while it waits for them (`drain`).
"""
from __future__ import annotations

import sys
import time
from queue import Empty
from typing import Any

LOG_INTERVAL_S = 60.0


class LogProgress:
    """tqdm's update/close for a log: one line per LOG_INTERVAL_S, and one at the end."""

    def __init__(self, total: int, desc: str, interval: float = LOG_INTERVAL_S, stream=None):
        self.total, self.desc, self.interval = max(int(total), 1), desc, interval
        self.n, self.start = 0, time.monotonic()
        self.last = self.start
        self.stream = stream or sys.stderr

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._line(now)

    def _line(self, now: float) -> None:
        elapsed = now - self.start
        share = min(self.n / self.total, 1.0)
        eta = elapsed * (1 - share) / share if share > 0 else float("nan")
        print(f"{self.desc}: {share:.0%} ({self.n:,} of {self.total:,} passes), "
              f"{elapsed / 60:.1f} min elapsed, about {eta / 60:.0f} min left",
              file=self.stream, flush=True)

    def close(self) -> None:
        self._line(time.monotonic())

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(total: int, desc: str) -> Any:
    """A tqdm bar on a terminal, LogProgress elsewhere."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=" passes", unit_scale=True, smoothing=0.05)
    return LogProgress(total, desc)


def progress_queue():
    """A queue spawned workers can report on (given to them at start, see bench.execute.workers)."""
    import multiprocessing as mp

    return mp.get_context("spawn").Queue()


def drain(queue, done: dict[Any, int], bar) -> None:
    """Move the workers' reports from `queue` onto `bar`, counting them per key in `done`."""
    if queue is None:
        return
    while True:
        try:
            key, passes = queue.get_nowait()
        except (Empty, OSError, EOFError):
            return
        done[key] = done.get(key, 0) + passes
        if bar is not None:
            bar.update(passes)
