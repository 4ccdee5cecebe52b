"""Objectives with a known front, for any number M of objectives: reach a target image.

Objective m of the set `targets<M>` rewards an image for measured attributes near a target:
r_m(x) = exp(-|z(x) - c_m|^2 / s^2), where z is the image's attributes (`attributes`:
centre x, centre y, brightness, size; the first M - 1 of them) standardised by the base
model's own mean and spread, the targets c_m are the vertices of a regular simplex of
circumradius RADIUS around the base model's mean image, and s is the simplex's edge. So
every pair of objectives conflicts, an image between two targets is a real in-between
image (a figure between two places), and the front is an (M - 1)-dimensional surface.
Each objective has a held-out twin (`_heldout`) on the twin attributes, standardised alike.

The true optimum at a preference w is max over z of sum_m w_m exp(-|z - c_m|^2 / s^2): a
maximum over every attribute vector, so over every image, which no policy can beat (the
reward of a mixture of images is the mean of theirs). With s equal to the edge, the mixture
of bumps has one peak between the targets (for M = 2 exactly at the midpoint at w = (1/2,
1/2)), so the optimal image at an interior w is an in-between image, not one of the targets.

    python -m paretoslider.rewards.check_targets   # re-measure MEAN and SPREAD, check each set
"""
from __future__ import annotations

from functools import cache

import numpy as np
import torch

from paretoslider.rewards.attributes import NAMES, attributes, attributes_heldout
from paretoslider.rewards.base import REWARDS, Reward

# base-model samples (128 per shape prompt, 10 Euler steps, noise seed 424242), by
# `python -m paretoslider.rewards.check_targets`: mean and std of each attribute
MEAN = {"train": (0.0041, 0.0021, 0.4835, 0.3012), "heldout": (-0.0006, 0.0073, 0.5074, 0.2994)}
SPREAD = {"train": (0.1291, 0.1424, 0.2326, 0.1541), "heldout": (0.158, 0.1757, 0.232, 0.1558)}
RADIUS = 1.0  # targets one spread from the base model's mean: inside what it draws
SIZES = (2, 3, 4, 5)  # the sets registered: targets2 ... targets5


def simplex_vertices(m: int, radius: float = RADIUS) -> np.ndarray:
    """(m, m - 1) vertices of a regular simplex centred at 0 with the given circumradius."""
    centred = np.eye(m) - 1.0 / m
    basis = np.linalg.svd(centred)[2][: m - 1]  # orthonormal basis of the sum-zero plane
    pts = centred @ basis.T
    return radius * pts / np.linalg.norm(pts, axis=1, keepdims=True)


class TargetSet:
    """The M targets, their width and the known front."""

    def __init__(self, m: int, radius: float = RADIUS):
        if not 2 <= m <= len(NAMES) + 1:
            raise ValueError(f"a target set has 2 to {len(NAMES) + 1} objectives, got {m}")
        self.m, self.dims = m, m - 1
        self.centres = simplex_vertices(m, radius)
        self.width = float(np.linalg.norm(self.centres[0] - self.centres[1]))  # the edge

    def standardise(self, values: torch.Tensor, space: str) -> torch.Tensor:
        mean = torch.tensor(MEAN[space][: self.dims], dtype=values.dtype)
        spread = torch.tensor(SPREAD[space][: self.dims], dtype=values.dtype)
        return (values[:, : self.dims] - mean) / spread

    def scores(self, z: np.ndarray) -> np.ndarray:
        """(..., M) r_m at standardised attributes z (..., M - 1)."""
        d2 = ((np.asarray(z)[..., None, :] - self.centres) ** 2).sum(-1)
        return np.exp(-d2 / self.width**2)

    def optimum(self, w) -> tuple[float, np.ndarray]:
        """(max over z of w . r(z), the scores r at that z)."""
        from scipy.optimize import minimize

        w = np.asarray(w, dtype=float)

        def negative(z):
            r = self.scores(z)
            grad = (w * r) @ (2 * (z - self.centres)) / self.width**2
            return -float(w @ r), grad

        starts = [*self.centres, w @ self.centres, np.zeros(self.dims)]
        best = min((minimize(negative, s, jac=True, method="L-BFGS-B") for s in starts),
                   key=lambda res: res.fun)
        return -float(best.fun), self.scores(best.x)

    def front(self, ws) -> tuple[np.ndarray, np.ndarray]:
        """(optimal utilities (N,), optimal score vectors (N, M)) on a grid of preferences."""
        found = [self.optimum(w) for w in np.asarray(ws, dtype=float)]
        return np.array([f for f, _ in found]), np.stack([r for _, r in found])


@cache
def target_set(m: int) -> TargetSet:
    return TargetSet(m)


class TargetReward(Reward):
    """r_m of the set targets<M>; range (0, 1), 1 exactly at the target."""

    range = (0.0, 1.0)
    m: int = 2
    index: int = 0
    space: str = "train"

    def score(self, images, prompts):
        measure = attributes if self.space == "train" else attributes_heldout
        ts = target_set(self.m)
        z = ts.standardise(measure(images).double(), self.space).numpy()
        return torch.tensor(ts.scores(z)[:, self.index], dtype=torch.float32)


def _register() -> None:
    for m in SIZES:
        for i in range(m):
            for space, suffix in (("train", ""), ("heldout", "_heldout")):
                name = f"targets{m}_{i}{suffix}"
                cls = type(f"Target{m}_{i}{suffix.title().replace('_', '')}", (TargetReward,),
                           {"name": name, "m": m, "index": i, "space": space,
                            "heldout": space == "heldout"})
                REWARDS.register(name)(cls)


_register()
NAMES_REGISTERED = tuple(f"targets{m}_{i}{suffix}" for m in SIZES for i in range(m)
                         for suffix in ("", "_heldout"))


def target_objectives(names) -> TargetSet | None:
    """The target set whose objectives `names` are, in order (training or held-out); else None."""
    names = list(names)
    m = len(names)
    plain = [n.removesuffix("_heldout") for n in names]
    if m in SIZES and plain == [f"targets{m}_{i}" for i in range(m)]:
        return target_set(m)
    return None
