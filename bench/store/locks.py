"""Locks that keep two runs out of one results folder, and two trainers out of one unit.

An OS file lock (`filelock`, flock on POSIX) is held for as long as the run: it dies with
its process, so the lock of a killed run is taken over by the next one without a word. A
small JSON beside it names the holder (pid, command, start) for the one-line refusal.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

LOCK, HOLDER = ".bench.lock", ".bench.lock.json"


class FolderBusyError(RuntimeError):
    """Another live process holds the folder's lock."""


def holder(folder: Path) -> str:
    """'pid N: command' of the process that holds the folder, as it wrote it."""
    try:
        info = json.loads((Path(folder) / HOLDER).read_text())
        return f"pid {info['pid']}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that left no name"


@contextmanager
def folder_lock(folder: str | os.PathLike, what: str = "results folder") -> Iterator[None]:
    """Hold `folder` for this process, or raise FolderBusyError at once naming the holder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise FolderBusyError(f"{what} {folder} is in use by another run ({holder(folder)}); "
                              "wait for it to end, or give this run another folder") from None
    try:
        (folder / HOLDER).write_text(json.dumps({
            "pid": os.getpid(), "command": " ".join(["python", *sys.argv]),
            "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
        yield
    finally:
        (folder / HOLDER).unlink(missing_ok=True)
        lock.release()


@contextmanager
def unit_lock(unit_dir: str | os.PathLike) -> Iterator[None]:
    """Wait for any other process training this unit (its lock), then hold it."""
    unit_dir = Path(unit_dir)
    unit_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(unit_dir / LOCK):
        yield
