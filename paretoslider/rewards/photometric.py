"""Measured photometric rewards: brightness, contrast and a chroma twin of colourfulness.

Each training measure reads gamma-encoded RGB through Rec. 709 luma; its held-out twin reads
the same property in CIELAB (D65), by another formula, so a policy that games one formula
(for example by trading green for blue at equal luma) shows up on the other:

| training      | formula                          | held-out twin            | formula                  |
|---------------|----------------------------------|--------------------------|--------------------------|
| brightness    | mean luma Y' in [0, 1]           | brightness_heldout       | mean L* in [0, 100]      |
| contrast      | RMS contrast: std of Y'          | contrast_heldout         | L* range, 5th-95th pct   |
| colourfulness | Hasler-Suesstrunk (measures.py)  | colourfulness_heldout    | mean chroma C*ab         |

Declared ranges cover the min and max over 4096 world renders and 512 base-model samples
(`python -m paretoslider.rewards.measure_ranges` re-measures them), rounded outwards:
brightness 0.001-0.990 -> (0, 1); L* 0.1-99.2 -> (0, 100); contrast 0.004-0.341 -> (0, 0.4)
(0.5 is the largest possible); L* 5-95% range 0.7-97.7 -> (0, 100); chroma 0-58.6 -> (0, 60).
"""
from __future__ import annotations

import torch

from paretoslider.rewards.base import REWARDS, Reward

LUMA = (0.2126, 0.7152, 0.0722)  # Rec. 709
_RGB_TO_XYZ = torch.tensor([[0.4124, 0.3576, 0.1805],
                            [0.2126, 0.7152, 0.0722],
                            [0.0193, 0.1192, 0.9505]])
_WHITE = _RGB_TO_XYZ.sum(dim=1)  # D65 white: XYZ of RGB (1, 1, 1), so greys get a* = b* = 0


def luma(images: torch.Tensor) -> torch.Tensor:
    """Rec. 709 luma of gamma-encoded RGB in [0, 1]: (B, H, W)."""
    w = torch.tensor(LUMA, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images.clamp(0, 1) * w).sum(dim=1)


def lab(images: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] to CIELAB (D65): (B, 3, H, W) with L* in [0, 100]."""
    c = images.clamp(0, 1).double()
    linear = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = torch.einsum("ij,bjhw->bihw", _RGB_TO_XYZ.double(), linear)
    t = xyz / _WHITE.double().view(1, 3, 1, 1)
    d = 6 / 29
    f = torch.where(t > d**3, t.clamp(min=0) ** (1 / 3), t / (3 * d**2) + 4 / 29)
    L = 116 * f[:, 1] - 16
    a = 500 * (f[:, 0] - f[:, 1])
    b = 200 * (f[:, 1] - f[:, 2])
    return torch.stack([L, a, b], dim=1).to(images.dtype)


class _Measure(Reward):
    def __init__(self, range: tuple[float, float] | None = None):
        if range is not None:
            self.range = tuple(range)


@REWARDS.register("brightness")
class Brightness(_Measure):
    """Mean luma: 0 for a black image, 1 for a white one."""

    name, range = "brightness", (0.0, 1.0)

    def score(self, images, prompts):
        return luma(images).flatten(1).mean(dim=1)


@REWARDS.register("brightness_heldout")
class BrightnessHeldout(_Measure):
    name, range, heldout = "brightness_heldout", (0.0, 100.0), True

    def score(self, images, prompts):
        return lab(images)[:, 0].flatten(1).mean(dim=1)


@REWARDS.register("contrast")
class Contrast(_Measure):
    """RMS contrast: 0 for a flat image, 0.5 for half black, half white."""

    name, range = "contrast", (0.0, 0.4)

    def score(self, images, prompts):
        return luma(images).flatten(1).std(dim=1, unbiased=False)


@REWARDS.register("contrast_heldout")
class ContrastHeldout(_Measure):
    name, range, heldout = "contrast_heldout", (0.0, 100.0), True

    def score(self, images, prompts):
        q = torch.quantile(lab(images)[:, 0].flatten(1).float(),
                           torch.tensor([0.05, 0.95], device=images.device), dim=1)
        return q[1] - q[0]


@REWARDS.register("colourfulness_heldout")
class ColourfulnessHeldout(_Measure):
    """Mean CIELAB chroma sqrt(a*^2 + b*^2): 0 for any grey image."""

    name, range, heldout = "colourfulness_heldout", (0.0, 60.0), True

    def score(self, images, prompts):
        ab = lab(images)[:, 1:]
        return ab.pow(2).sum(dim=1).sqrt().flatten(1).mean(dim=1)
