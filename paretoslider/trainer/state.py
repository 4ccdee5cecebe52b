"""The models a run holds: policy (trained), old policy (EMA copy), reference (frozen start).

On the small backbones the old policy and the reference are full deep copies: simple and
exact. A backbone with `shares_transformer` (SD3.5, where a copy is 4.6 GB) keeps one
transformer when only LoRA and preference weights train: the old policy is that
transformer with its own copy of the trained tensors swapped in, the reference is it with
the adapters disabled (or, with cfg.init_lora, with the initial LoRA swapped in); see
paretoslider.trainer.shared. An evaluation EMA (cfg.eval_ema) keeps only float32 averages
of the trained tensors.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import torch
from torch import nn

from paretoslider.checkpoint import read_lora_weights
from paretoslider.trainer.config import TrainConfig
from paretoslider.trainer.shared import SharedModelView


@dataclass
class TrainState:
    policy: nn.Module
    old: nn.Module
    reference: nn.Module
    optimizer: torch.optim.Optimizer
    trainable: list[str]  # names of the trained parameters, in optimizer order
    step: int = 0  # optimizer updates so far (drives the EMA decay)
    epoch: int = 0  # epochs completed
    eval_ema: dict[str, torch.Tensor] | None = None  # name -> float32 average (cfg.eval_ema)
    shared: bool = False  # old and reference are views of the policy's transformer

    def trainable_parameters(self) -> list[nn.Parameter]:
        params = dict(self.policy.named_parameters())
        return [params[n] for n in self.trainable]


def eval_ema_decay(step: int) -> float:
    """Weight kept on the evaluation average after optimizer step `step` (1, 2, ...):
    min((1 + s) / (10 + s), 0.9), so it follows the policy closely at first."""
    return min((1 + step) / (10 + step), 0.9)


@torch.no_grad()
def update_eval_ema(state: TrainState) -> float:
    """avg <- avg + (1 - decay)(policy - avg) after the optimizer step state.step."""
    decay = eval_ema_decay(state.step)
    params = dict(state.policy.named_parameters())
    for name, avg in state.eval_ema.items():
        avg.lerp_(params[name].detach().to(avg.dtype), 1 - decay)
    return decay


def _lora_root(backbone: nn.Module) -> nn.Module:
    # diffusers backbones keep the transformer as a submodule; LoRA goes there so that the
    # preference modules and prompt encoder are never matched by the target names
    return getattr(backbone, "transformer", backbone)


def attach_lora(backbone: nn.Module, cfg: TrainConfig) -> None:
    from peft import LoraConfig, inject_adapter_in_model

    lora = LoraConfig(
        r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=0.0,
        target_modules=list(cfg.lora_targets),
    )
    inject_adapter_in_model(lora, _lora_root(backbone))


def _lora_name(key: str, root_is_submodule: bool) -> str:
    """A saved LoRA key (peft, diffusers or this project's names) -> the LoRA root's name."""
    key = key.removeprefix("base_model.model.")
    if root_is_submodule:
        key = key.removeprefix("transformer.")
    return re.sub(r"\.(lora_[AB])(?:\.default)?\.weight$", r".\1.default.weight", key)


@torch.no_grad()
def load_init_lora(backbone: nn.Module, cfg: TrainConfig) -> None:
    """Copy the LoRA weights of cfg.init_lora into the attached adapters; every adapter
    must be found there with this run's rank (other tensors in the file are ignored)."""
    tensors, saved = read_lora_weights(cfg.init_lora)
    if saved and (saved.get("r"), saved.get("lora_alpha")) != (cfg.lora_rank, cfg.lora_alpha):
        raise ValueError(f"init_lora {cfg.init_lora} has rank {saved.get('r')} and alpha "
                         f"{saved.get('lora_alpha')}; this run has lora_rank {cfg.lora_rank} "
                         f"and lora_alpha {cfg.lora_alpha}")
    root = _lora_root(backbone)
    params = {n: p for n, p in root.named_parameters() if "lora_" in n}
    found = {_lora_name(k, root is not backbone): t for k, t in tensors.items() if "lora_" in k}
    unknown, missing = sorted(set(found) - set(params)), sorted(set(params) - set(found))
    if unknown or missing:
        raise ValueError(f"init_lora {cfg.init_lora} does not fit this run's LoRA "
                         f"(lora_targets {list(cfg.lora_targets)}): {len(unknown)} tensors match "
                         f"no adapter{f' (e.g. {unknown[0]})' if unknown else ''}, {len(missing)} "
                         f"adapters missing{f' (e.g. {missing[0]})' if missing else ''}")
    for name, p in params.items():
        if found[name].shape != p.shape:
            raise ValueError(f"init_lora {cfg.init_lora}: {name} has shape "
                             f"{tuple(found[name].shape)}, this run's has {tuple(p.shape)}")
        p.copy_(found[name])


def float32_trainables(models: list[nn.Module], names: list[str]) -> None:
    """Keep trained weights (LoRA made by peft in a bf16 model's dtype) in float32: AdamW's
    small steps vanish in bf16. The forward runs them in the model's dtype under autocast."""
    for model in models:
        params = dict(model.named_parameters())
        for n in names:
            if params[n].dtype != torch.float32:
                params[n].data = params[n].data.float()


def build_state(backbone: nn.Module, cfg: TrainConfig, num_objectives: int) -> TrainState:
    """Freeze a reference copy, attach preference modules and LoRA (or unfreeze all), copy
    the old policy and build AdamW over the trained parameters. With cfg.init_lora the LoRA
    is attached and loaded first, so the reference and the start are base + that LoRA."""
    shared = getattr(backbone, "shares_transformer", False) and not cfg.full_finetune
    if cfg.init_lora is not None:
        attach_lora(backbone, cfg)
        load_init_lora(backbone, cfg)
    if shared:  # the start's LoRA (none: the adapters off) is what the reference runs
        reference = (SharedModelView(backbone, adapters=False) if cfg.init_lora is None else
                     SharedModelView(backbone, {n: p.detach().clone()
                                                for n, p in backbone.named_parameters()
                                                if "lora_" in n}))
    else:
        reference = copy.deepcopy(backbone).requires_grad_(False).eval()
    if cfg.w_conditioned:
        have = getattr(backbone, "num_objectives", None)
        if have is None:
            # the default projector is not passed: backbones without that option keep working
            extra = {} if cfg.block_projector == "zero" else {"projector": cfg.block_projector}
            backbone.add_preference(num_objectives, cfg.preference_mode, **extra)
        elif have != num_objectives:
            raise ValueError(
                f"backbone is conditioned on {have} objectives, the run has {num_objectives}"
            )
    if cfg.full_finetune:
        backbone.requires_grad_(True)
    else:
        if cfg.init_lora is None:
            attach_lora(backbone, cfg)
        for name, p in backbone.named_parameters():
            p.requires_grad_("lora_" in name)
        for p in backbone.preference_parameters():
            p.requires_grad_(True)
    trainable = [n for n, p in backbone.named_parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("nothing to train: no LoRA target matched and no preference modules")
    if cfg.mixed_precision:
        float32_trainables([backbone], trainable)
    named = dict(backbone.named_parameters())
    if shared:
        old = SharedModelView(backbone, {n: named[n].detach().clone() for n in trainable})
    else:
        old = copy.deepcopy(backbone).requires_grad_(False)
    params = [p for p in backbone.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = {n: named[n].detach().float().clone() for n in trainable} if cfg.eval_ema else None
    return TrainState(backbone, old, reference, optimizer, trainable, eval_ema=ema,
                      shared=shared)
