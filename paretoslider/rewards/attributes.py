"""Measured attributes of an image, each two ways (training / held-out twin): the figure's
centre (x, y in [-1, 1]), its size (share of pixels), and the image's brightness.

The figure is what stands out from a colour plane fitted to the border (`figure`): the
training measure weighs each pixel by its RGB distance from that plane, the held-out twin
counts the pixels farther than a perceptual threshold in CIELAB. They are the axes of the
target objectives (`targets`), so each must move when the scene moves and only then.
"""
from __future__ import annotations

import torch

from paretoslider.rewards.figure import (
    FIGURE_DELTA_E,
    background_plane,
    figure_area,
    lab_area,
)
from paretoslider.rewards.photometric import lab, luma

NAMES = ("centre_x", "centre_y", "brightness", "size")


def _coords(h: int, w: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, dtype=like.dtype),
                            torch.linspace(-1, 1, w, dtype=like.dtype), indexing="ij")
    return xs, ys


def _centre(weights: torch.Tensor) -> torch.Tensor:
    """(B, 2) weighted mean pixel position; the image centre where nothing stands out."""
    xs, ys = _coords(*weights.shape[1:], weights)
    total = weights.flatten(1).sum(dim=1).clamp(min=1e-8)
    cx = (weights * xs).flatten(1).sum(dim=1) / total
    cy = (weights * ys).flatten(1).sum(dim=1) / total
    return torch.stack([cx, cy], dim=1)


def attributes(images: torch.Tensor) -> torch.Tensor:
    """(B, 4) training measures: RGB-distance-weighted centre x, y, brightness (luma), size."""
    x = images.clamp(0, 1)
    dist = (x - background_plane(x)).norm(dim=1)
    return torch.cat([_centre(dist), luma(x).flatten(1).mean(dim=1, keepdim=True),
                      figure_area(x)[:, None]], dim=1)


def attributes_heldout(images: torch.Tensor) -> torch.Tensor:
    """(B, 4) held-out twins: centre of the CIELAB figure mask, L*/100, CIELAB size."""
    x = images.clamp(0, 1)
    light = lab(x)
    mask = ((light - background_plane(light)).norm(dim=1) > FIGURE_DELTA_E).to(x.dtype)
    return torch.cat([_centre(mask), light[:, 0].flatten(1).mean(dim=1, keepdim=True) / 100,
                      lab_area(x)[:, None]], dim=1)
