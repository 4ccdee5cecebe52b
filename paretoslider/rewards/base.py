"""The reward interface, the reward registry and range normalisation.

A reward maps images in [0, 1] of shape (B, 3, H, W) and their prompts to a (B,) tensor. It
declares the range its values normally fall in, so that metrics can put rewards of different
scales on one [0, 1] axis, and its direction ("max": larger is better).
"""
from __future__ import annotations

import torch

from paretoslider.registry import Registry

REWARDS: Registry = Registry("reward")


class Reward:
    name: str = "reward"
    range: tuple[float, float] = (0.0, 1.0)
    direction: str = "max"
    heldout: bool = False  # True for judges used only to evaluate, never to train
    # True for rewards whose model weights come from outside (a hub, a server): the contract
    # tests (paretoslider.testing) then check only what the class declares
    external_weights: bool = False

    def score(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        raise NotImplementedError

    def weights(self) -> list[tuple[str, str, str | None]]:
        """(what, model id or path, environment variable) of every weight file set this
        reward loads from outside the project (checked before a run by `bench.config.preflight`)."""
        return []

    def __call__(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] != 3:
            shape = tuple(images.shape)
            raise ValueError(f"{self.name}: expected images (B, 3, H, W), got {shape}")
        if len(prompts) != images.shape[0]:
            raise ValueError(f"{self.name}: {images.shape[0]} images but {len(prompts)} prompts")
        return self.score(images.float(), list(prompts))

    def __repr__(self) -> str:
        lo, hi = self.range
        tag = ", heldout" if self.heldout else ""
        return f"{type(self).__name__}({self.name!r}, range=({lo:g}, {hi:g}){tag})"


def normalise(values: torch.Tensor, range: tuple[float, float], clip: bool = True) -> torch.Tensor:
    """Map values from a declared (lo, hi) range to [0, 1]; clipped unless clip=False."""
    lo, hi = float(range[0]), float(range[1])
    if not hi > lo:
        raise ValueError(f"range must have hi > lo, got {range}")
    out = (torch.as_tensor(values, dtype=torch.float32) - lo) / (hi - lo)
    return out.clamp(0.0, 1.0) if clip else out


def build_reward(name: str, **kwargs) -> Reward:
    """Instantiate a registered reward by name; an unknown name lists the known ones."""
    return REWARDS.get(name)(**kwargs)
