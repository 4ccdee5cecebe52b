"""Prompt adherence without a trained network: fit each shape's silhouette to the figure.

`adherence_shape` scores how well the prompted shape explains the image, by three steps that
share nothing with the learned judges:

1. **Figure map.** Each pixel's RGB distance from a background plane fitted to the border ring
   (`figure.background_plane`), square-rooted: a soft, colour-based segmentation in which a
   faint wash or a shaded flank counts nearly as much as a bright stroke, with no threshold
   that suits one style and not another. (Stronger compression, a cube root, fits base-model
   samples as well but lets a neon glow fill the notches of a sketched cross.)
2. **Template fit.** Every shape is rendered with the world's signed distances at every
   position (half-pixel steps, up to 4 px off centre), size (radius 0.35-0.75) and rotation
   (within the shape's symmetry) as four patterns: the filled silhouette, its outline band,
   and the silhouette shaded along x and along y. The figure map of every style is close to a
   mix of these: photos fill the silhouette and shade it by a light, watercolors fill it,
   sketches and neon draw its outline (neon with a glow), blends mix them. The fit of a
   template is R^2, the share of the figure map's variance that the least-squares best mix
   of its patterns (plus a constant) explains; a shape's fit is its best template's.
3. **Probability.** P(shape | image) = softmax over shapes of SLOPE * R^2 + BIAS, calibrated
   by maximum likelihood on renders of every style and blend (`calibrate`). The reward is
   the prompted shape's probability; a flat image gets the prior of the biases.

All templates (17,820, four patterns each: 73 MB, built once per process in about a second)
are projected in one matrix product, so thousands of images take seconds.
`python -m paretoslider.rewards.check_silhouette` measures accuracy per style and blend on
renders and the speed, and re-fits the calibration.
"""
from __future__ import annotations

import functools
import math
import time

import torch
import torch.nn.functional as F

from paretoslider.rewards.base import REWARDS, Reward
from paretoslider.rewards.figure import background_plane
from paretoslider.worlds.shapes import SHAPES, STYLES, _sdf, parse_prompt, sample_batch

SIZE = 16  # templates are drawn at the world's image size; other sizes are resized to it
RADII = (0.35, 0.45, 0.55, 0.65, 0.75)  # the world draws radii 0.42-0.64
SHIFT_PX = 4  # the world keeps centres within 3.84 px of the middle
SUPERSAMPLE = 4
BAND_PX = 0.7  # half width of the outline band: a sketch stroke is about 1.1 px wide
# (symmetry angle, rotations tried) per shape: a circle needs none
ROTATIONS = {"circle": (0.0, 1), "square": (math.pi / 2, 3), "triangle": (2 * math.pi / 3, 4),
             "cross": (math.pi / 2, 3)}
PHASES = ((0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5))  # sub-pixel offsets, in pixels
PATTERNS = 4  # fill, band, fill * x, fill * y
CHUNK = 256  # images per matrix product: bounds the (images x templates) intermediate

# Calibrated by `calibrate()` on 4096 renders (sample_batch seed CALIBRATION_SEED, half pure
# styles, half two-style blends); BIAS in SHAPES order, the first fixed at 0.
SLOPE = 109.01
BIAS = (0.0, -0.04, 2.64, 4.55)
CALIBRATION_SEED = 71_000
VALIDATION_SEED = 72_000  # disjoint from the judges' training and validation seeds


def _shape_patterns(k: int, angles: torch.Tensor, radii: torch.Tensor, phase: torch.Tensor
                    ) -> torch.Tensor:
    """(n, PATTERNS, 2 SIZE, 2 SIZE): shape k's patterns on a canvas twice the image, one per
    (angle, radius, phase) row, centred on the canvas plus the sub-pixel phase."""
    n, s = len(angles), 2 * SIZE * SUPERSAMPLE
    pix = 2.0 / (SIZE * SUPERSAMPLE)  # the image's coordinates span [-1, 1]
    coords = (torch.arange(s, dtype=torch.float32) + 0.5) * pix - 2.0
    x = coords.view(1, 1, s) - phase[:, 0].view(-1, 1, 1) * 2.0 / SIZE
    y = coords.view(1, s, 1) - phase[:, 1].view(-1, 1, 1) * 2.0 / SIZE
    cos, sin = torch.cos(angles).view(-1, 1, 1), torch.sin(angles).view(-1, 1, 1)
    px, py = (cos * x + sin * y).expand(n, s, s), (-sin * x + cos * y).expand(n, s, s)
    sdf = _sdf(torch.full((n,), k), px, py, radii)
    fill = (0.5 - sdf / pix).clamp(0, 1)
    band = (0.5 - (sdf.abs() - BAND_PX * 2.0 / SIZE) / pix).clamp(0, 1)
    r = radii.view(-1, 1, 1)
    stack = torch.stack([fill, band, fill * px / r, fill * py / r], dim=1)
    return F.avg_pool2d(stack, SUPERSAMPLE)


@functools.cache
def template_bank() -> tuple[torch.Tensor, tuple[int, ...], torch.Tensor]:
    """(SIZE^2, PATTERNS * K) orthonormal bases of every template's centred patterns (the
    templates of SHAPES[0] first), how many templates each shape has, and each template's
    (centre x, centre y, radius, angle) in image coordinates ([-1, 1], y downwards)."""
    bases, counts, params = [], [], []
    lo, hi = SIZE // 2 - SHIFT_PX, SIZE // 2 + SHIFT_PX + 1
    shifts = torch.arange(SIZE // 2 - lo, SIZE // 2 - hi, -1, dtype=torch.float32)  # px
    for k, shape in enumerate(SHAPES):
        period, steps = ROTATIONS[shape]
        grid = torch.cartesian_prod(torch.arange(steps, dtype=torch.float32) * period / steps,
                                    torch.tensor(RADII), torch.arange(len(PHASES)).float())
        phase = torch.tensor(PHASES)[grid[:, 2].long()]
        canvas = _shape_patterns(k, grid[:, 0], grid[:, 1], phase)  # (n, P, 2S, 2S)
        # windows of the canvas: the shape moved by whole pixels within +-SHIFT_PX
        windows = canvas.unfold(2, SIZE, 1).unfold(3, SIZE, 1)[:, :, lo:hi, lo:hi]
        t = windows.permute(0, 2, 3, 1, 4, 5).reshape(-1, PATTERNS, SIZE * SIZE)
        t = t - t.mean(dim=2, keepdim=True)  # the constant is part of every fit
        q, _ = torch.linalg.qr(t.transpose(1, 2).double())  # (n, S^2, P)
        bases.append(q.float().transpose(1, 2).reshape(-1, SIZE * SIZE))
        counts.append(len(t))
        sy, sx = torch.meshgrid(shifts, shifts, indexing="ij")  # rows of windows, then columns
        n, m = len(grid), sx.numel()
        centre = (phase.view(n, 1, 2) + torch.stack([sx, sy], -1).view(1, m, 2)) * 2.0 / SIZE
        params.append(torch.cat([centre, grid[:, :2].view(n, 1, 2).expand(n, m, 2)[..., [1, 0]]],
                                dim=2).reshape(-1, 4))
    return torch.cat(bases).T.contiguous(), tuple(counts), torch.cat(params)


def figure_map(images: torch.Tensor) -> torch.Tensor:
    """(B, SIZE^2): each pixel's RGB distance from the border ring's background plane,
    square-rooted."""
    x = images.float().clamp(0, 1)
    if x.shape[-2:] != (SIZE, SIZE):
        x = F.interpolate(x, (SIZE, SIZE), mode="bilinear", antialias=True).clamp(0, 1)
    return (x - background_plane(x)).norm(dim=1).flatten(1).sqrt()


def fit_maps(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per figure map (B, SIZE^2) and shape: the best template's R^2 (B, len(SHAPES)) and its
    index into the bank (B, len(SHAPES))."""
    bank, counts, _ = template_bank()
    d = maps.float() - maps.float().mean(dim=1, keepdim=True)
    d = d / d.norm(dim=1, keepdim=True).clamp(min=1e-8)  # a flat map fits nothing
    starts = torch.tensor((0, *counts[:-1])).cumsum(0)
    fits, where = [], []
    for part in d.split(CHUNK):
        r2 = (part @ bank).square().view(len(part), -1, PATTERNS).sum(dim=2)
        best = [c.max(dim=1) for c in r2.split(counts, dim=1)]
        fits.append(torch.stack([b.values for b in best], dim=1))
        where.append(torch.stack([b.indices for b in best], dim=1) + starts)
    return torch.cat(fits).clamp(0, 1), torch.cat(where)


def shape_fits(images: torch.Tensor) -> torch.Tensor:
    """(B, len(SHAPES)) R^2 of each shape's best template on the figure map, in [0, 1]."""
    return fit_maps(figure_map(images.cpu()))[0].to(images.device)


def best_templates(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """R^2 (B, len(SHAPES)) and (B, len(SHAPES), 4) centre x, centre y, radius and angle of
    each shape's best template: where, how large and how turned the figure is."""
    fits, where = fit_maps(figure_map(images.cpu()))
    return fits, template_bank()[2][where]


def probabilities(fits: torch.Tensor, slope: float | None = None, bias=None) -> torch.Tensor:
    """P(shape | image) from the fits: softmax of slope * R^2 + bias over shapes."""
    slope = SLOPE if slope is None else slope
    bias = torch.tensor(BIAS if bias is None else bias, dtype=fits.dtype, device=fits.device)
    return torch.softmax(slope * fits + bias, dim=1)


def calibrate(fits: torch.Tensor, shapes: torch.Tensor) -> tuple[float, tuple[float, ...]]:
    """(slope, biases) maximising the likelihood of the true shapes (first bias fixed at 0)."""
    params = torch.zeros(len(SHAPES), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], max_iter=200, line_search_fn="strong_wolfe")
    x, y = fits.double(), shapes.long()

    def loss():
        opt.zero_grad()
        bias = torch.cat([params.new_zeros(1), params[1:]])
        value = F.cross_entropy(params[0] * x + bias, y)
        value.backward()
        return value

    opt.step(loss)
    p = params.detach()
    return round(float(p[0]), 2), (0.0, *(round(float(b), 2) for b in p[1:]))


@REWARDS.register("adherence_shape")
class ShapeAdherence(Reward):
    """P(the prompt's shape | image) from silhouette fits; evaluation only, like the held-out
    judges, and shares no network with any of them."""

    name, heldout, range = "adherence_shape", True, (0.0, 1.0)

    def score(self, images, prompts):
        idx = torch.tensor([SHAPES.index(parse_prompt(p)[0]) for p in prompts])
        probs = probabilities(shape_fits(images))
        return probs.gather(1, idx.to(probs.device).view(-1, 1))[:, 0]


def style_groups(weights: torch.Tensor) -> list[str]:
    """Each render's style: its pure style's name, or 'a+b' for a two-style blend."""
    out = []
    for row in weights.tolist():
        used = [s for s, w in zip(STYLES, row, strict=True) if w > 1e-6]
        out.append("+".join(used))
    return out


def validation_report(n: int = 4096, seed: int = VALIDATION_SEED, slope: float | None = None,
                      bias=None) -> dict:
    """Accuracy (argmax over shapes) on renders, overall, per shape and per style or blend,
    with mean fit of the true shape and images per second (calibration: the stored one
    unless `slope` and `bias` are given)."""
    batch = sample_batch(n, seed=seed, style_word_prob=0.0)
    template_bank()  # built once per process; not part of the speed
    start = time.perf_counter()
    fits = shape_fits(batch.images)
    speed = n / (time.perf_counter() - start)
    probs = probabilities(fits, slope, bias)
    right = (probs.argmax(dim=1) == batch.shapes).float()
    groups = style_groups(batch.style_weights)
    by_group = {}
    for name in sorted(set(groups), key=lambda g: (g.count("+"), g)):
        mask = torch.tensor([g == name for g in groups])
        by_group[name] = {"n": int(mask.sum()), "accuracy": round(right[mask].mean().item(), 4)}
    return {"n": n, "seed": seed, "accuracy": round(right.mean().item(), 4),
            "per_shape": {s: round(right[batch.shapes == k].mean().item(), 4)
                          for k, s in enumerate(SHAPES)},
            "per_style": by_group, "images_per_s": round(speed, 1),
            "confidence": round(probs.amax(dim=1).mean().item(), 4),  # ~ accuracy if calibrated
            "fit_true_shape": round(fits.gather(1, batch.shapes.view(-1, 1)).mean().item(), 4)}
