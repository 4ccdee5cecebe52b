"""Models trained elsewhere, evaluated like any method, with the cost their authors declare.

An external unit trains nothing: its "training" writes the declared cost, and its model is
the world's base model with the weights of a safetensors file loaded over it (the file's
tensor names are the backbone's `state_dict` names; a subset is fine, an unknown name is an
error). The harness cannot measure what it did not run, so the cost is marked declared in
the records (`cost.declared`) and in the tables. Only the final weights exist: an external
method is evaluated at the full budget only, not at the suite's earlier checkpoints.

A trainer checkpoint is read too: the folder `python -m paretoslider.trainer.distributed`
writes (`--out`, or its `ckpt/`), or one of its tensor files. Its trained tensors
(`policy/<name>`, or the evaluation EMA `eval_ema/<name>` where it was kept) go onto the
base model, with LoRA attached first when they are LoRA weights: at the suite's
trainer.lora_rank, lora_alpha and lora_targets, which the run that wrote them read too.

Suite options (`method_options.external`, or under the name of a subclass):
    checkpoint: path to the .safetensors file or checkpoint folder; "{seed}" in it is
        replaced by the seed
    declared_cost: {passes: int, wall_s: float, images: int, optimizer_steps: int}
`external` is one static model for every w; `external_conditioned` is a w-conditioned
model (its file holds the preference modules too) fed w like the slider.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from paretoslider.checkpoint import dict_hash
from paretoslider.methods import METHODS, Method, Policy, SuiteContext, Unit
from paretoslider.trainer import Cost

DECLARABLE = {"passes": "forward_passes", "forward_passes": "forward_passes",
              "backward_passes": "backward_passes", "images": "images",
              "optimizer_steps": "optimizer_steps", "wall_s": "wall_seconds",
              "wall_seconds": "wall_seconds"}


@functools.lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def file_digest(path: str | Path) -> str:
    """sha256 of the file's bytes (16 hex digits), computed once per version of the file."""
    st = Path(path).stat()
    return _digest(str(path), st.st_size, st.st_mtime_ns)


def declared_cost(raw: dict) -> Cost:
    """The Cost a user declares; `passes` is required (counted as forward passes when the
    split into forward and backward is not given)."""
    if not isinstance(raw, dict) or "passes" not in raw and "forward_passes" not in raw:
        raise ValueError("declared_cost must give at least `passes` (denoiser passes spent)")
    unknown = sorted(set(raw) - set(DECLARABLE))
    if unknown:
        raise ValueError(f"declared_cost: unknown keys {unknown}; known: {sorted(DECLARABLE)}")
    cost = Cost()
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"declared_cost.{key} must be a number >= 0, got {value!r}")
        kind = float if DECLARABLE[key] == "wall_seconds" else int
        setattr(cost, DECLARABLE[key], kind(value))
    return cost


TRAINED_PREFIXES = ("eval_ema/", "policy/")  # a trainer checkpoint's, the evaluated first


def checkpoint_file(path: Path) -> Path:
    """The tensor file of `path`: itself, or the latest one of a trainer checkpoint folder
    (the folder holding checkpoint.json, or the run folder above it)."""
    from paretoslider.checkpoint import META

    for folder in (path, path / "ckpt"):
        if (folder / META).is_file():
            return folder / json.loads((folder / META).read_text())["tensors"]
    return path


def model_tensors(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's weights in a file: a trainer checkpoint's trained tensors with their
    prefix removed (optimizer state and old policy left out), else the file as it is."""
    for prefix in TRAINED_PREFIXES:
        found = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
        if found:
            return found
    return tensors


def attach_lora_for(model: torch.nn.Module, tensors: dict, cfg, where: str) -> None:
    """LoRA on `model` to take the file's LoRA tensors (none: nothing to attach)."""
    from paretoslider.trainer.state import attach_lora

    ranks = {t.shape[0] for k, t in tensors.items() if ".lora_A." in k}
    if not ranks or any("lora_" in k for k in model.state_dict()):
        return
    if ranks != {cfg.lora_rank}:
        raise ValueError(f"{where}: LoRA of rank {sorted(ranks)}, the suite's trainer.lora_rank "
                         f"is {cfg.lora_rank}; set it (and lora_alpha) to the run's")
    attach_lora(model, cfg)


def save_external_checkpoint(model: torch.nn.Module, path: str | Path) -> Path:
    """Write a model's weights in the layout an external unit reads (for tests and exports)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path))
    return Path(path)


@dataclass
class ExternalUnit(Unit):
    """A finished model from a file, with its declared cost."""

    checkpoint: str = ""
    declared: dict = field(default_factory=dict)  # the user's declared_cost
    w_conditioned: bool = False

    def key(self) -> str:
        return dict_hash({"external": file_digest(self.checkpoint), "cost": self.declared,
                          "w_conditioned": self.w_conditioned,
                          "objectives": list(self.objectives)})

    def summary(self) -> dict:
        """What done.json holds for a trained unit, with the cost declared."""
        cost = declared_cost(self.declared)
        cost.checkpoint_bytes = Path(self.checkpoint).stat().st_size
        return {"label": self.label, "epochs": 0, "cost": cost.to_dict(), "declared": True,
                "checkpoint": self.checkpoint}

    def load_model(self, world) -> torch.nn.Module:
        """The world's base model with the file's weights loaded over it."""
        from safetensors.torch import load_file

        model = world.base_model()
        if self.w_conditioned:
            model.add_preference(len(self.objectives), self.cfg.preference_mode,
                                 self.cfg.block_projector)
        tensors = model_tensors(load_file(self.checkpoint))
        attach_lora_for(model, tensors, self.cfg, self.checkpoint)
        unknown = sorted(set(tensors) - set(model.state_dict()))
        if unknown:
            raise ValueError(f"{self.checkpoint}: {len(unknown)} tensors the model does not "
                             f"have, e.g. {unknown[:3]}")
        model.load_state_dict(tensors, strict=False)
        return model.eval().requires_grad_(False)


class ExternalCheckpoint(Method):
    """One static model from a file for every w (subclass with another `name` for more)."""

    name = "external"
    w_dependent = False
    w_conditioned = False

    def units(self, ctx: SuiteContext) -> list[Unit]:
        options = ctx.options.get(self.name) or {}
        if not options.get("checkpoint"):
            raise ValueError(f"method_options.{self.name}.checkpoint must name a .safetensors "
                             "file or a trainer checkpoint folder")
        named = Path(str(options["checkpoint"]).format(seed=ctx.base_cfg.seed)).expanduser()
        path = checkpoint_file(named)
        if not path.is_file():
            raise ValueError(f"method_options.{self.name}.checkpoint: no file {str(named)!r}")
        cost = dict(options.get("declared_cost") or {})
        declared_cost(cost)  # checked now, before any work
        extra = sorted(set(options) - {"checkpoint", "declared_cost"})
        if extra:
            raise ValueError(f"method_options.{self.name}: unknown keys {extra}; known: "
                             "checkpoint, declared_cost")
        cfg = replace(ctx.base_cfg, budget_passes=None, w_conditioned=self.w_conditioned)
        return [ExternalUnit("external", cfg, ctx.objectives, checkpoint=str(path.resolve()),
                             declared=cost, w_conditioned=self.w_conditioned)]

    def policy(self, ctx, trained, base, w) -> Policy:
        w_in = torch.as_tensor(w, dtype=torch.float32) if self.w_conditioned else None
        return Policy(trained["external"], w_in)


class ExternalConditioned(ExternalCheckpoint):
    """A w-conditioned model from a file (its preference modules included), fed w."""

    name = "external_conditioned"
    w_dependent = True
    w_conditioned = True


METHODS.register("external")(ExternalCheckpoint)
METHODS.register("external_conditioned")(ExternalConditioned)


def is_external(unit: Unit) -> bool:
    return isinstance(unit, ExternalUnit)
