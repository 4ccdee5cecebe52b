"""Tiny models, rewards and suite contexts for the baseline tests (random weights, 8x8)."""
from __future__ import annotations

import copy

import torch

import baselines  # noqa: F401  (registers the methods the tests look up)
from paretoslider.backbones.tiny_sd3 import TinySD3
from paretoslider.methods import SuiteContext
from paretoslider.trainer.config import TrainConfig
from paretoslider.trainer.state import attach_lora

VOCAB = ["circle", "square", "photo", "sketch"]
PROMPTS = ["a circle", "a square"]


class ChannelMean:
    """Mean brightness of one colour channel: a cheap reward with a known direction."""

    def __init__(self, name: str, channel: int):
        self.name, self.channel = name, channel

    def __call__(self, images, prompts):
        return images[:, self.channel].mean(dim=(1, 2))


REWARDS = {"photo": ChannelMean("photo", 0), "sketch": ChannelMean("sketch", 2)}


def tiny_model(seed: int = 0) -> TinySD3:
    torch.manual_seed(seed)
    return TinySD3(VOCAB, image_size=8, num_layers=1, num_heads=2, head_dim=8,
                   text_dim=16).eval().requires_grad_(False)


def tiny_cfg(**kw) -> TrainConfig:
    base = {"K": 1, "G": 2, "sampling_steps": 2, "lora_rank": 2, "lora_alpha": 4, "epochs": 1,
            "lr": 1e-2, "progress": False, "objectives": ("photo", "sketch")}
    return TrainConfig(**(base | kw))


def tiny_ctx(budget=None, regime="equal_total", n_prompts=2, **kw) -> SuiteContext:
    return SuiteContext(objectives=("photo", "sketch"), base_cfg=tiny_cfg(**kw),
                        fixed_grid=[(1.0, 0.0), (0.5, 0.5), (0.0, 1.0)], budget_passes=budget,
                        budget_regime=regime, n_prompts=n_prompts)


def lora_model(base: TinySD3, seed: int, rank: int = 2, alpha: int = 4) -> TinySD3:
    """A copy of `base` with LoRA factors set to random non-zero values."""
    model = copy.deepcopy(base)
    attach_lora(model, tiny_cfg(lora_rank=rank, lora_alpha=alpha))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
    return model.eval().requires_grad_(False)


def outputs(model, seed: int = 0) -> torch.Tensor:
    """Velocity predictions of `model` on fixed inputs (no w)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((4, *model.image_shape), generator=gen)
    t = torch.tensor([0.2, 0.4, 0.6, 0.8])
    with torch.no_grad():
        return model(x, t, model.encode_prompts(["a circle", "a square"] * 2))
