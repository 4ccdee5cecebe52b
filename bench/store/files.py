"""Atomic file writes for reports and figures: readers see the old file or the new one.

Bytes and text go through the library's one writer (`paretoslider.checkpoint.atomic_write`:
a temporary file in the same folder, fsync, the user's umask, `os.replace`). `atomic_save`
is for writers that need a file name (matplotlib, PIL): they write a temporary file of the
same extension, so a format inferred from the name still works, which then replaces `path`.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from paretoslider.checkpoint import atomic_write


def atomic_save(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp_path)`, then move the result onto `path`; returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # created by the writer itself, so the file gets the usual permissions
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_text(path: str | os.PathLike, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"))
    return path
