"""Hand-written measured rewards: JPEG compressibility and colourfulness.

Declared ranges, measured on 4096 16x16 world images (`python -m paretoslider.rewards.measures`
re-measures them): jpeg spans -0.896 to -0.673 kB, between the extremes of uniform noise
(-0.94) and a flat grey image (-0.63), so the range (-0.95, -0.6) covers anything a policy
can reach at this size; colourfulness spans 0 (sketches) to 106 (99th percentile 74), range
(0, 120). Other image sizes need another range (pass `range=`).
"""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from paretoslider.rewards.base import REWARDS, Reward

JPEG_QUALITY = 95  # DDPO's setting
MEASURES = ("jpeg", "colourfulness")


def jpeg_kilobytes(images: torch.Tensor, quality: int = JPEG_QUALITY) -> torch.Tensor:
    """Size in kB (1000 bytes) of each image saved as a JPEG at a fixed quality."""
    arr = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    sizes = []
    for img in arr.cpu().numpy():
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(img), "RGB").save(buf, format="JPEG", quality=quality)
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


@REWARDS.register("colourfulness")
class Colourfulness(Reward):
    """An aesthetic-type measure: vivid, varied colour scores higher."""

    name = "colourfulness"

    def __init__(self, range: tuple[float, float] = (0.0, 120.0)):
        self.range = tuple(range)

    def score(self, images, prompts):
        return colourfulness(images)


def measure_ranges(n: int = 4096, seed: int = 777, size: int = 16) -> dict[str, list[float]]:
    """Min, 1st percentile, 99th percentile and max of each measure on world images."""
    from paretoslider.worlds.shapes import sample_batch

    images = torch.cat([sample_batch(1024, seed + i, size).images for i in range(0, n, 1024)])
    out = {}
    measured = {"jpeg": -jpeg_kilobytes(images), "colourfulness": colourfulness(images)}
    for name, values in measured.items():
        q = torch.quantile(values, torch.tensor([0.0, 0.01, 0.99, 1.0]))
        out[name] = [round(v, 4) for v in q.tolist()]
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(measure_ranges())
