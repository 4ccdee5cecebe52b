"""Hand-written measured rewards: JPEG compressibility, its PNG twin, and colourfulness.

Declared ranges, measured on 4096 16x16 world images (`python -m
paretoslider.rewards.measure_ranges` re-measures them, with base-model samples): jpeg spans -0.896 to -0.673 kB, between the
extremes of uniform noise (-0.94) and a flat grey image (-0.63), so the range (-0.95, -0.6)
covers anything a policy can reach at this size; its held-out twin `jpeg_heldout` is minus the
lossless PNG size, another codec: -0.82 to -0.23 kB on world images and base samples, range
(-0.9, -0.05) between uniform noise (-0.85) and a flat image (-0.08);
colourfulness spans 0 (sketches) to 106 (99th percentile 74), range (0, 120). Other image
sizes need another range (pass `range=`). The photometric measures and object size live in
`photometric.py` and `figure.py`.
"""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from paretoslider.rewards.base import REWARDS, Reward

JPEG_QUALITY = 95  # DDPO's setting
# the shapes world's measured rewards, training measures first, then their held-out twins
MEASURES = ("jpeg", "colourfulness", "brightness", "contrast", "size",
            "jpeg_heldout", "colourfulness_heldout", "brightness_heldout", "contrast_heldout",
            "size_heldout")


def jpeg_kilobytes(images: torch.Tensor, quality: int = JPEG_QUALITY) -> torch.Tensor:
    """Size in kB (1000 bytes) of each image saved as a JPEG at a fixed quality."""
    arr = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    sizes = []
    for img in arr.cpu().numpy():
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(img), "RGB").save(buf, format="JPEG", quality=quality)
        sizes.append(buf.tell() / 1000)
    return torch.tensor(sizes, dtype=torch.float32, device=images.device)


def png_kilobytes(images: torch.Tensor) -> torch.Tensor:
    """Size in kB of each image saved as a PNG at the highest compression level."""
    arr = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    sizes = []
    for img in arr.cpu().numpy():
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(img), "RGB").save(buf, format="PNG", compress_level=9)
        sizes.append(buf.tell() / 1000)
    return torch.tensor(sizes, dtype=torch.float32, device=images.device)


def colourfulness(images: torch.Tensor) -> torch.Tensor:
    """Hasler and Suesstrunk's colourfulness on the 0-255 scale; 0 for any grey image."""
    r, g, b = (images.clamp(0, 1) * 255).unbind(dim=1)
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    spread = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False))
    level = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return spread + 0.3 * level


@REWARDS.register("jpeg")
class JpegCompressibility(Reward):
    """Minus the JPEG size in kB: flatter, simpler images score higher."""

    name = "jpeg"

    def __init__(self, quality: int = JPEG_QUALITY, range: tuple[float, float] = (-0.95, -0.6)):
        self.quality, self.range = quality, tuple(range)

    def score(self, images, prompts):
        return -jpeg_kilobytes(images, self.quality)


@REWARDS.register("jpeg_heldout")
class PngCompressibility(Reward):
    """Minus the lossless PNG size in kB: the held-out twin of `jpeg`."""

    name, heldout = "jpeg_heldout", True

    def __init__(self, range: tuple[float, float] = (-0.9, -0.05)):
        self.range = tuple(range)

    def score(self, images, prompts):
        return -png_kilobytes(images)


@REWARDS.register("colourfulness")
class Colourfulness(Reward):
    """An aesthetic-type measure: vivid, varied colour scores higher."""

    name = "colourfulness"

    def __init__(self, range: tuple[float, float] = (0.0, 120.0)):
        self.range = tuple(range)

    def score(self, images, prompts):
        return colourfulness(images)
