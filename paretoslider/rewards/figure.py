"""Object size: the fraction of the image the figure covers, measured two ways.

`size` models the background as a colour plane (constant plus x and y gradients, least
squares on the one-pixel border ring, so photo backgrounds with a ramp still count as
background) and counts pixels farther than FIGURE_DISTANCE from it in RGB: every pixel that
stands out from the background, so a neon glow counts and a faint watercolor wash may not.
Its held-out twin `size_heldout` does the same in CIELAB with a perceptual threshold
(FIGURE_DELTA_E), where distances weigh lightness and hue otherwise than RGB does.

Both assume the scene's layout: the figure stays off the border ring. Range (0, 0.8): both
span 0 to 0.72-0.78 on 4096 world renders and 512 base-model samples
(`python -m paretoslider.rewards.measure_ranges`).
"""
from __future__ import annotations

import torch

from paretoslider.rewards.base import REWARDS, Reward
from paretoslider.rewards.photometric import lab

FIGURE_DISTANCE = 0.15  # RGB distance from the background plane that counts as figure
FIGURE_DELTA_E = 15.0  # the same in CIELAB (a just-noticeable difference is about 2.3)


def _border(h: int, w: int) -> torch.Tensor:
    ring = torch.ones(h, w, dtype=torch.bool)
    ring[1:-1, 1:-1] = False
    return ring


def background_plane(images: torch.Tensor) -> torch.Tensor:
    """Per-channel plane c0 + cx x + cy y fitted to the border ring: (B, 3, H, W)."""
    h, w = images.shape[2:]
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    design = torch.stack([torch.ones_like(xs), xs, ys], dim=-1).double()  # (H, W, 3)
    ring = _border(h, w)
    coef = torch.linalg.pinv(design[ring]) @ images.double()[:, :, ring].transpose(1, 2)
    return torch.einsum("hwk,bkc->bchw", design, coef).to(images.dtype)


def figure_area(images: torch.Tensor) -> torch.Tensor:
    dist = (images.clamp(0, 1) - background_plane(images.clamp(0, 1))).norm(dim=1)
    return (dist > FIGURE_DISTANCE).float().flatten(1).mean(dim=1)


def lab_area(images: torch.Tensor) -> torch.Tensor:
    """Share of pixels farther than FIGURE_DELTA_E (CIE76) from the border's plane in CIELAB."""
    light = lab(images.clamp(0, 1))
    dist = (light - background_plane(light)).norm(dim=1)
    return (dist > FIGURE_DELTA_E).float().flatten(1).mean(dim=1)


@REWARDS.register("size")
class FigureSize(Reward):
    """Fraction of pixels off the background plane: a filled square of side s/16 gives s^2/256."""

    name, range = "size", (0.0, 0.8)

    def __init__(self, range: tuple[float, float] | None = None):
        if range is not None:
            self.range = tuple(range)

    def score(self, images, prompts):
        return figure_area(images)


@REWARDS.register("size_heldout")
class FigureSizeHeldout(FigureSize):
    name, heldout = "size_heldout", True

    def score(self, images, prompts):
        return lab_area(images)
