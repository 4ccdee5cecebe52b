"""The shapes world seen in grayscale: same base model and judges, colour removed before
any reward (or the sample strips) sees an image.

A world gives the harness: `images` (are samples pictures?), `base_model()` (a fresh copy
each call: training changes it in place), `fingerprint()` (identity of the weights and
judges results depend on), `reward(name)`, `reward_names()` and `decode(x0)` (model output
-> what rewards read). `measure(w, samples, base_samples) -> dict` is optional.
"""
from __future__ import annotations

import torch

from paretoslider.worlds import ShapesWorld

LUMA = torch.tensor([0.2126, 0.7152, 0.0722]).view(1, 3, 1, 1)  # Rec. 709


class GrayShapesWorld:
    images = True

    def __init__(self, **options):
        self.shapes = ShapesWorld(**options)

    def base_model(self):
        return self.shapes.base_model()

    def fingerprint(self) -> str:
        return self.shapes.fingerprint() + "-gray"

    def reward(self, name: str):
        return self.shapes.reward(name)

    def reward_names(self) -> list[str]:
        return self.shapes.reward_names()

    @staticmethod
    def decode(x0: torch.Tensor) -> torch.Tensor:
        rgb = ShapesWorld.decode(x0)
        return (rgb * LUMA).sum(1, keepdim=True).expand_as(rgb)
