"""The shapes world: procedurally rendered RGB images of a prompted shape in blended styles.

Every image is a blend of pure style renderings with continuous weights, so the data holds
in-between images (a half-sketch, half-photo), not only a mixture of pure styles. Rendering
is signed-distance based, supersampled for anti-aliasing, and deterministic from a seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

SHAPES = ("circle", "square", "triangle", "cross")
STYLES = ("photo", "sketch", "watercolor", "neon")
STYLE_WORDS = {"photo": "photo", "sketch": "sketch", "watercolor": "watercolor", "neon": "neon"}


@dataclass
class Batch:
    """Rendered images in [0, 1], shape (B, 3, H, W), with the scene parameters behind them."""

    images: torch.Tensor
    shapes: torch.Tensor  # (B,) index into SHAPES
    style_weights: torch.Tensor  # (B, len(STYLES)), rows sum to 1
    prompts: list[str]


def make_prompt(shape: str, style: str | None = None) -> str:
    """The world's prompt grammar: 'a circle' or 'a sketch of a circle'."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    if style is None:
        return f"a {shape}"
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; known: {', '.join(STYLES)}")
    return f"a {STYLE_WORDS[style]} of a {shape}"


def parse_prompt(prompt: str) -> tuple[str, str | None]:
    """Inverse of make_prompt: (shape, style word or None). Raises on a prompt naming no shape."""
    words = prompt.lower().replace(",", " ").split()
    shape = next((w for w in reversed(words) if w in SHAPES), None)
    if shape is None:
        raise ValueError(f"prompt {prompt!r} names no shape; known: {', '.join(SHAPES)}")
    style = next((s for s in STYLES if STYLE_WORDS[s] in words), None)
    return shape, style


# ---------------------------------------------------------------- signed distances
def _sdf(shape: torch.Tensor, px: torch.Tensor, py: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Signed distance (negative inside) of each image's shape; px, py centred, (B, S, S)."""
    r = r.view(-1, 1, 1)
    circle = torch.sqrt(px**2 + py**2) - r

    def box(hx, hy):
        qx, qy = px.abs() - hx, py.abs() - hy
        outside = torch.sqrt(qx.clamp(min=0) ** 2 + qy.clamp(min=0) ** 2)
        return outside + torch.maximum(qx, qy).clamp(max=0)

    square = box(0.8 * r, 0.8 * r)
    cross = torch.minimum(box(r, 0.32 * r), box(0.32 * r, r))
    # Equilateral triangle pointing up (y grows downwards in image space).
    k = math.sqrt(3.0)
    tr = 0.95 * r
    x = px.abs() - tr
    y = -py + tr / k
    flip = (x + k * y) > 0
    x2 = torch.where(flip, (x - k * y) / 2, x)
    y2 = torch.where(flip, (-k * x - y) / 2, y)
    x2 = x2 - torch.minimum(torch.maximum(x2, -2 * tr), torch.zeros_like(x2))
    triangle = -torch.sqrt(x2**2 + y2**2) * torch.sign(y2)
    out = torch.stack([circle, square, triangle, cross], dim=1)  # (B, 4, S, S)
    return out.gather(1, shape.view(-1, 1, 1, 1).expand(-1, 1, *px.shape[1:])).squeeze(1)


def _smooth_noise(gen: torch.Generator, n: int, channels: int, cells: int, size: int):
    grid = torch.rand(n, channels, cells, cells, generator=gen)
    return F.interpolate(grid, size=(size, size), mode="bicubic", align_corners=False)


def _hsv_colours(gen: torch.Generator, n: int, sat: tuple[float, float], val: tuple[float, float]):
    h = torch.rand(n, generator=gen) * 6
    s = sat[0] + (sat[1] - sat[0]) * torch.rand(n, generator=gen)
    v = val[0] + (val[1] - val[0]) * torch.rand(n, generator=gen)
    k = torch.stack([(5 + h) % 6, (3 + h) % 6, (1 + h) % 6], dim=1)
    rgb = v[:, None] - v[:, None] * s[:, None] * (torch.minimum(k, 4 - k).clamp(0, 1))
    return rgb.view(n, 3, 1, 1)


def _fill(sdf, pix, soft=1.0):
    return (0.5 - sdf / (pix * soft)).clamp(0, 1).unsqueeze(1)


def _line(sdf, pix, half_width):
    return (0.5 - (sdf.abs() - half_width) / pix).clamp(0, 1).unsqueeze(1)


# ---------------------------------------------------------------- pure styles
def _photo(gen, sdf, px, py, r, pix, S):
    n = sdf.shape[0]
    bg_a = _hsv_colours(gen, n, (0.2, 0.6), (0.15, 0.45))
    bg_b = _hsv_colours(gen, n, (0.2, 0.6), (0.35, 0.7))
    ramp = ((py + 1) / 2).unsqueeze(1)
    texture = 0.12 * (_smooth_noise(gen, n, 1, 4, S) - 0.5) + 0.06 * (torch.rand(n, 1, S, S, generator=gen) - 0.5)
    bg = bg_a * (1 - ramp) + bg_b * ramp + texture
    colour = _hsv_colours(gen, n, (0.5, 1.0), (0.6, 1.0))
    angle = torch.rand(n, generator=gen) * 2 * math.pi
    lx, ly = torch.cos(angle).view(-1, 1, 1), torch.sin(angle).view(-1, 1, 1)
    rr = r.view(-1, 1, 1)
    shade = (0.75 - 0.45 * (px * lx + py * ly) / rr).clamp(0.25, 1.2).unsqueeze(1)
    spot = torch.exp(-((px + 0.4 * rr * lx) ** 2 + (py + 0.4 * rr * ly) ** 2) / (0.08 * rr**2)).unsqueeze(1)
    shadow = 0.5 * _fill(_shift(sdf, S), pix, soft=4.0)
    obj = colour * shade + 0.5 * spot
    bg = bg * (1 - shadow)
    a = _fill(sdf, pix)
    return bg * (1 - a) + obj * a


def _shift(sdf, S):
    """The sdf moved a little down-right, for a cast shadow."""
    d = max(1, S // 24)
    return F.pad(sdf, (d, 0, d, 0), mode="replicate")[:, :S, :S]


def _sketch(gen, sdf, px, py, r, pix, S):
    n = sdf.shape[0]
    paper = 0.9 + 0.08 * torch.rand(n, 1, 1, 1, generator=gen)
    grain = 0.03 * (torch.rand(n, 1, S, S, generator=gen) - 0.5)
    ink = 0.05 + 0.2 * torch.rand(n, 1, 1, 1, generator=gen)
    phase = torch.rand(n, 1, 1, generator=gen) * 6.28
    wobble = 0.02 * torch.sin(7 * torch.atan2(py, px) + phase)
    stroke = _line(sdf + wobble, pix, half_width=2.2 * pix)
    return (paper + grain) * (1 - stroke) + ink * stroke


def _watercolor(gen, sdf, px, py, r, pix, S):
    n = sdf.shape[0]
    paper = torch.tensor([0.97, 0.94, 0.88]).view(1, 3, 1, 1) + 0.02 * (_smooth_noise(gen, n, 1, 6, S) - 0.5)
    pastel = 0.6 * _hsv_colours(gen, n, (0.5, 0.9), (0.8, 1.0)) + 0.4
    blot = 0.55 + 0.45 * _smooth_noise(gen, n, 1, 5, S)
    a = _fill(sdf + 0.04 * (_smooth_noise(gen, n, 1, 5, S)[:, 0] - 0.5), pix, soft=10.0) * blot
    edge = 0.15 * _line(sdf, pix, half_width=pix) * a
    wash = pastel * (1 - edge)
    return paper * (1 - a) + wash * a


def _neon(gen, sdf, px, py, r, pix, S):
    n = sdf.shape[0]
    bg = 0.02 + 0.08 * torch.rand(n, 3, 1, 1, generator=gen)
    colour = _hsv_colours(gen, n, (0.85, 1.0), (0.9, 1.0))
    core = _line(sdf, pix, half_width=1.5 * pix)
    glow = torch.exp(-sdf.abs() / (0.18 * r.view(-1, 1, 1) + 0.06)).unsqueeze(1)
    img = bg + colour * (0.75 * glow) + (0.4 * colour + 0.6) * core
    return img


_STYLE_FNS = {"photo": _photo, "sketch": _sketch, "watercolor": _watercolor, "neon": _neon}


# ---------------------------------------------------------------- scenes
def sample_style_weights(gen: torch.Generator, n: int, pure_fraction: float = 0.5) -> torch.Tensor:
    """Half pure styles, half blends of two styles with a uniform blend weight."""
    k = len(STYLES)
    first = torch.randint(k, (n,), generator=gen)
    second = (first + torch.randint(1, k, (n,), generator=gen)) % k
    alpha = torch.rand(n, generator=gen)
    alpha = torch.where(torch.rand(n, generator=gen) < pure_fraction, torch.ones(n), alpha)
    w = torch.zeros(n, k)
    w[torch.arange(n), first] = alpha
    w[torch.arange(n), second] += 1 - alpha
    return w


def render(
    shapes: torch.Tensor,
    style_weights: torch.Tensor,
    seed: int,
    size: int = 16,
    supersample: int = 4,
) -> torch.Tensor:
    """Render (B,) shape indices with (B, n_styles) blend weights into (B, 3, size, size) in [0, 1].

    Colour, size and position of each shape are drawn from `seed`, so a call is deterministic.
    """
    gen = torch.Generator().manual_seed(int(seed))
    n = shapes.shape[0]
    S = size * supersample
    pix = 2.0 / S
    coords = (torch.arange(S, dtype=torch.float32) + 0.5) * pix - 1
    r = 0.42 + 0.22 * torch.rand(n, generator=gen)
    cx = (torch.rand(n, generator=gen) - 0.5) * 2 * (0.9 - r)
    cy = (torch.rand(n, generator=gen) - 0.5) * 2 * (0.9 - r)
    px = coords.view(1, 1, S) - cx.view(-1, 1, 1)
    py = coords.view(1, S, 1) - cy.view(-1, 1, 1)
    px, py = px.expand(n, S, S), py.expand(n, S, S)
    sdf = _sdf(shapes, px, py, r)
    out = torch.zeros(n, 3, S, S)
    for i, name in enumerate(STYLES):
        # Every style draws its random numbers even when unused, so that one image's look
        # does not depend on which styles the rest of the batch happens to use.
        img = _STYLE_FNS[name](gen, sdf, px, py, r, pix, S)
        out += style_weights[:, i].view(-1, 1, 1, 1) * img.clamp(0, 1)
    out = F.avg_pool2d(out, supersample) if supersample > 1 else out
    return out.clamp(0, 1)


def sample_batch(
    n: int,
    seed: int,
    size: int = 16,
    style_word_prob: float = 0.3,
    pure_fraction: float = 0.5,
) -> Batch:
    """A deterministic batch of random scenes and the prompts that describe them.

    A prompt names the shape; with probability `style_word_prob` it also names the dominant
    style (weight >= 0.5), which teaches a base model to follow optional style words while a
    plain shape prompt still gives the whole mixture of styles.
    """
    gen = torch.Generator().manual_seed(int(seed) * 7919 + 17)
    shapes = torch.randint(len(SHAPES), (n,), generator=gen)
    weights = sample_style_weights(gen, n, pure_fraction)
    with_word = torch.rand(n, generator=gen) < style_word_prob
    dominant = weights.argmax(dim=1)
    prompts = [
        make_prompt(SHAPES[s], STYLES[d] if use else None)
        for s, d, use in zip(shapes.tolist(), dominant.tolist(), with_word.tolist())
    ]
    images = render(shapes, weights, seed=seed, size=size)
    return Batch(images=images, shapes=shapes, style_weights=weights, prompts=prompts)
