"""Finding pretrained weights: a local directory, or a Hugging Face hub id (cache or download).

Real-scale models (SD3.5, CLIP, PickScore) are never shipped with the project. When their
files cannot be found, loading fails with ONE `MissingWeightsError` that names the model and
says how to provide it, instead of a chain of hub and file errors.
"""
from __future__ import annotations

import os
from pathlib import Path

TRUTHY = ("1", "true", "yes", "on")


class MissingWeightsError(FileNotFoundError):
    """Pretrained weights that are neither at a local path nor obtainable from the hub."""

    def __str__(self) -> str:  # FileNotFoundError would prefix an errno; keep one clear line
        return str(self.args[0])


def hub_offline() -> bool:
    """True when the Hugging Face libraries must not reach the network."""
    return any(os.environ.get(v, "").lower() in TRUTHY for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _looks_like_path(model: str) -> bool:
    """A filesystem path rather than a hub id ("org/name")."""
    return model.startswith(("/", "./", "../", "~")) or model.count("/") > 1


def hint(model: str, what: str, env_var: str | None, reason: str) -> str:
    """The one-line message of a MissingWeightsError."""
    override = f"; or set {env_var} to such a directory" if env_var else ""
    if Path(model).expanduser().is_dir() or _looks_like_path(model):
        return (f"{what} weights at {model!r} not found: {reason}. Point to a complete local "
                f"directory in the Hugging Face layout{override}")
    cache = os.environ.get("HF_HOME", "~/.cache/huggingface")
    return (
        f"{what} weights {model!r} not found: {reason}. Provide them as a local directory in "
        f"the Hugging Face layout (pass its path{override}), or set HF_HOME to a folder whose "
        f"hub/ cache holds {model!r} (now {cache}; fill it with `hf download {model}` on a "
        f"machine that reaches the hub)"
    )


def resolve_weights(
    model: str,
    what: str,
    env_var: str | None = None,
    allow_patterns: list[str] | None = None,
) -> str:
    """A local directory holding `model`'s files.

    `model` is a directory (used as is) or a hub id: with HF_HUB_OFFLINE=1 only the local
    cache is consulted; otherwise the files matching `allow_patterns` are downloaded.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    if _looks_like_path(model):
        raise MissingWeightsError(hint(model, what, env_var, "no such directory"))
    from huggingface_hub import snapshot_download

    offline = hub_offline()
    try:
        return snapshot_download(model, local_files_only=offline, allow_patterns=allow_patterns)
    except (OSError, ValueError) as exc:  # hub errors derive from these (HTTP, cache, bad id)
        reason = "HF_HUB_OFFLINE=1 and not in the local cache" if offline else type(exc).__name__
        raise MissingWeightsError(hint(model, what, env_var, reason)) from None


def wrap_load_error(model: str, what: str, env_var: str | None, exc: Exception) -> MissingWeightsError:
    """A MissingWeightsError for a directory that exists but lacks some component's files."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return MissingWeightsError(hint(model, what, env_var, f"incomplete files ({first})"))


GATED = {"stabilityai/stable-diffusion-3.5-medium": "a gated model: accept its licence on its "
         "hub page and log in (`hf auth login`) before `hf download`",
         "stabilityai/stable-diffusion-3.5-large": "a gated model: accept its licence on its "
         "hub page and log in (`hf auth login`) before `hf download`"}


def missing_weights(model: str, what: str, env_var: str | None = None,
                    allow_patterns: list[str] | None = None) -> str | None:
    """None when `model` is found on this machine (a local directory, or the hub cache),
    else the one-line reason with the remedy; nothing is downloaded."""
    path = Path(model).expanduser()
    if path.is_file() or (path.is_dir() and any(path.glob("*.json"))):
        return None
    if path.is_dir():
        return hint(model, what, env_var, "no config .json in the directory")
    if _looks_like_path(model):
        return hint(model, what, env_var, "no such file or directory")
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(model, local_files_only=True, allow_patterns=allow_patterns)
        return None
    except (OSError, ValueError):
        gated = GATED.get(model)
        return hint(model, what, env_var, "not in the local cache") + (f"; {gated}" if gated else "")
