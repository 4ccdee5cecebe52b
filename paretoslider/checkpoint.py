"""Checkpoints: tensors in safetensors, everything else in JSON, both written atomically.

Layout of a checkpoint directory: `checkpoint.json` names the tensor file it belongs to
(`tensors-<tag>.safetensors`). The JSON is replaced last, so a crash at any point leaves
either the previous checkpoint or the new one, never a mix. The previous checkpoint is kept
(`checkpoint.prev.json` and its tensors): when the latest cannot be read (a damaged disk, a
copy cut short), loading falls back to it with a warning.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as save_bytes

META = "checkpoint.json"
PREVIOUS = "checkpoint.prev.json"
FORMAT = 1


class CheckpointMismatchError(ValueError):
    """The checkpoint belongs to a run with another configuration."""


class CorruptCheckpointError(ValueError):
    """A checkpoint file that cannot be read (truncated, or not a checkpoint)."""


def file_mode() -> int:
    """The mode a new file gets under the process's umask (mkstemp's files are 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def has_checkpoint(directory) -> bool:
    return (Path(directory) / META).is_file()


def save_checkpoint(directory, tensors: dict[str, torch.Tensor], meta: dict, tag: str) -> int:
    """Write one checkpoint; returns the bytes of its tensor file.

    The JSON beside it (a few KB of metadata, with timings) is left out so the reported
    size is the same for the same run, however often it was interrupted.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    name = f"tensors-{tag}.safetensors"
    blob = save_bytes({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    atomic_write(d / name, blob)
    text = json.dumps(meta | {"format": FORMAT, "tensors": name}, sort_keys=True, indent=1)
    if (d / META).is_file() and _tensor_name(d / META) != name:
        atomic_write(d / PREVIOUS, (d / META).read_bytes())
    atomic_write(d / META, text.encode())
    keep = {name, _tensor_name(d / PREVIOUS)}
    for old in d.glob("tensors-*.safetensors"):
        if old.name not in keep:
            old.unlink()
    return len(blob)


def _tensor_name(meta_path: Path) -> str | None:
    try:
        return json.loads(meta_path.read_text()).get("tensors")
    except (OSError, ValueError, AttributeError):
        return None


def load_checkpoint(directory, config_hash: str | None = None) -> tuple[dict, dict]:
    """(tensors, meta) of the latest checkpoint, or of the previous one, with a warning, if
    the latest cannot be read. Refuses a checkpoint whose config hash differs from
    `config_hash`; raises CorruptCheckpointError if neither can be read."""
    d = Path(directory)
    if not has_checkpoint(d):
        raise FileNotFoundError(f"no checkpoint in {d} (missing {META})")
    try:
        return _load(d, META, config_hash)
    except CorruptCheckpointError as exc:
        if not (d / PREVIOUS).is_file():
            raise
        try:
            found = _load(d, PREVIOUS, config_hash)
        except CorruptCheckpointError:
            raise exc from None
        warnings.warn(f"{exc}; resuming from the previous checkpoint "
                      f"(epoch/step {found[1].get('epoch', found[1].get('step'))})", stacklevel=2)
        return found


def _load(d: Path, meta_name: str, config_hash: str | None) -> tuple[dict, dict]:
    try:
        meta = json.loads((d / meta_name).read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptCheckpointError(
            f"corrupt checkpoint metadata {d / meta_name}: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("tensors"), str):
        raise CorruptCheckpointError(f"{d / meta_name} does not describe a checkpoint")
    if meta.get("format") != FORMAT:
        raise ValueError(f"checkpoint format {meta.get('format')} in {d}; this code reads {FORMAT}")
    if config_hash is not None and meta.get("config_hash") != config_hash:
        raise CheckpointMismatchError(
            f"checkpoint in {d} was written with config hash {meta.get('config_hash')}, "
            f"this run has {config_hash}: refusing to resume a different configuration "
            f"(other prompts or settings); move {d.parent} away or set another cache_dir"
        )
    return load_tensors(d / meta["tensors"]), meta


def optimizer_state(opt: torch.optim.Optimizer, prefix: str = "optim") -> tuple[dict, list]:
    """Split an optimizer's state into tensors (by param index) and JSON-able groups."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"{prefix}/{idx}/{key}"] = val.detach().clone()  # not the live buffer
            else:
                scalars[f"{idx}/{key}"] = val
    return tensors, [sd["param_groups"], scalars]


def load_optimizer_state(opt, tensors: dict, groups_and_scalars: list, prefix: str = "optim"):
    groups, scalars = groups_and_scalars
    state: dict[int, dict] = {}
    for name, val in tensors.items():
        if name.startswith(prefix + "/"):  # other tensors of the checkpoint share the file
            _, idx, key = name.split("/", 2)
            state.setdefault(int(idx), {})[key] = val.clone()
    for name, val in scalars.items():
        idx, key = name.split("/", 1)
        state.setdefault(int(idx), {})[key] = val
    opt.load_state_dict({"state": state, "param_groups": groups})


def rng_to_json(state: torch.Tensor) -> str:
    return base64.b64encode(state.numpy().tobytes()).decode()


def rng_from_json(text: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8).clone()


def atomic_write_json(path, obj) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(obj, sort_keys=True, indent=1).encode())


def save_tensors(path, tensors: dict[str, torch.Tensor]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, save_bytes({k: v.detach().cpu().contiguous() for k, v in tensors.items()}))


def load_tensors(path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (OSError, SafetensorError) as exc:  # truncated or foreign: say which, in one line
        raise CorruptCheckpointError(f"corrupt or unreadable tensor file {path}: {exc}") from None


def dict_hash(config: dict) -> str:
    """Stable 16-hex-digit hash of a JSON-able dict (key order does not matter)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def save_snapshot(path, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """One safetensors file of weights with its metadata (JSON in the file's header)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = save_bytes({k: v.detach().cpu().contiguous() for k, v in tensors.items()},
                      metadata={"meta": json.dumps(meta, sort_keys=True)})
    atomic_write(path, blob)


def load_snapshot(path, config_hash: str | None = None) -> tuple[dict, dict]:
    """(tensors, meta) of a snapshot; refuses one written by another configuration."""
    from safetensors import safe_open

    if not Path(path).is_file():
        raise FileNotFoundError(f"no snapshot {path}")
    tensors = load_tensors(path)
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads((f.metadata() or {}).get("meta", "{}"))
    if config_hash is not None and meta.get("config_hash") != config_hash:
        raise CheckpointMismatchError(f"snapshot {path} was written with config hash "
                                      f"{meta.get('config_hash')}, this run has {config_hash} "
                                      "(other prompts or settings); move its run folder away "
                                      "or set another cache_dir")
    return tensors, meta


LORA_FILE = "adapter_model.safetensors"  # peft's save_pretrained layout
LORA_CONFIG = "adapter_config.json"


def read_lora_weights(path) -> tuple[dict[str, torch.Tensor], dict | None]:
    """LoRA tensors from a .safetensors file or a folder holding `adapter_model.safetensors`
    (and, when there, its `adapter_config.json`, returned as a dict). One-line errors."""
    p = Path(path)
    config = None
    if p.is_dir():
        if (p / LORA_CONFIG).is_file():
            config = json.loads((p / LORA_CONFIG).read_text())
        p = p / LORA_FILE
    if not p.is_file() or p.suffix != ".safetensors":
        raise FileNotFoundError(f"no LoRA weights at {path}: expected a .safetensors file or a "
                                f"folder with {LORA_FILE}")
    try:
        return load_file(p), config
    except (SafetensorError, OSError) as exc:
        raise CorruptCheckpointError(f"{p} is not a readable safetensors file ({exc})") from None
