"""Checkpoint I/O: tensors in safetensors, everything else in JSON, both written atomically.

No pickle anywhere: a checkpoint file can be loaded without executing code from it.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file


def config_hash(config: dict[str, Any]) -> str:
    """Stable short hash of a JSON-serialisable config (key order does not matter)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path | str, obj: Any) -> None:
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())

    _atomic(Path(path), write)


def save_tensors(path: Path | str, tensors: dict[str, torch.Tensor]) -> None:
    # safetensors refuses shared or non-contiguous storage: give it plain copies.
    plain = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    _atomic(Path(path), lambda tmp: save_file(plain, tmp))


def load_tensors(path: Path | str) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"corrupt or unreadable checkpoint {path}: {exc}") from None
