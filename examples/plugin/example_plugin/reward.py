"""Left-right mirror symmetry of an image: 1 - mean |image - mirrored image|."""
from __future__ import annotations

import torch

from paretoslider.rewards import Reward


class Symmetry(Reward):
    name = "symmetry"
    # where values fall on the shapes world's samples; metrics map this range to [0, 1]
    range = (0.8, 1.0)
    direction = "max"

    def score(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        mirrored = images.flip(-1)  # images: (B, 3, H, W) in [0, 1]
        return 1.0 - (images - mirrored).abs().flatten(1).mean(1)
