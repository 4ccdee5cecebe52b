"""Atomic file writes for reports and figures: readers see the old file or the new one.

The content goes to a temporary file in the same folder (same extension, so writers that
infer the format from the name still work), then `os.replace` puts it in place.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


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
    return atomic_save(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
