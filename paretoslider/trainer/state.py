"""The models a run holds: policy (trained), old policy (EMA copy), reference (frozen start).

Copies are full deep copies: simple and exact on the small backbones; at SD3.5 scale a
shared-base variant (adapters toggled) would save two copies of the frozen weights.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from paretoslider.trainer.config import TrainConfig


@dataclass
class TrainState:
    policy: nn.Module
    old: nn.Module
    reference: nn.Module
    optimizer: torch.optim.Optimizer
    trainable: list[str]  # names of the trained parameters, in optimizer order
    step: int = 0  # optimizer updates so far (drives the EMA decay)
    epoch: int = 0  # epochs completed

    def trainable_parameters(self) -> list[nn.Parameter]:
        params = dict(self.policy.named_parameters())
        return [params[n] for n in self.trainable]


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


def build_state(backbone: nn.Module, cfg: TrainConfig, num_objectives: int) -> TrainState:
    """Freeze a reference copy, attach preference modules and LoRA (or unfreeze all), copy
    the old policy and build AdamW over the trained parameters."""
    reference = copy.deepcopy(backbone).requires_grad_(False).eval()
    if cfg.w_conditioned:
        have = getattr(backbone, "num_objectives", None)
        if have is None:
            backbone.add_preference(num_objectives, cfg.preference_mode)
        elif have != num_objectives:
            raise ValueError(
                f"backbone is conditioned on {have} objectives, the run has {num_objectives}"
            )
    if cfg.full_finetune:
        backbone.requires_grad_(True)
    else:
        attach_lora(backbone, cfg)
        for name, p in backbone.named_parameters():
            p.requires_grad_("lora_" in name)
        for p in backbone.preference_parameters():
            p.requires_grad_(True)
    trainable = [n for n, p in backbone.named_parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("nothing to train: no LoRA target matched and no preference modules")
    old = copy.deepcopy(backbone).requires_grad_(False)
    params = [p for p in backbone.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return TrainState(backbone, old, reference, optimizer, trainable)
