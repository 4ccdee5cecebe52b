"""Slider controllability: does moving w move the rewards the way it says, and smoothly?

Inputs are a sweep: `ws` (K, M) preference vectors and `rs` (K, M) normalised per-w mean
rewards, row k being the model asked for ws[k]. Each function returns None where the
metric is undefined (a sweep of fewer than two distinct w, no neighbouring grid steps, or
extremes that coincide), never a number.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import spearmanr

from bench.metrics import ArrayLike, as_points


def _sweep(ws: ArrayLike, rs: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate a sweep and return it as two float (K, M) arrays."""
    w, r = as_points(ws), as_points(rs)
    if w.shape != r.shape:
        raise ValueError(f"ws {w.shape} and rs {r.shape} must have the same shape")
    return w, r


def spearman(ws: ArrayLike, rs: ArrayLike) -> list[float | None]:
    """Spearman rank correlation between w_m and r_m, per objective m.

    None where w_m does not vary over the sweep (nothing to correlate with). A reward that
    stays constant while w_m moves scores 0.0: the slider has no effect on it.
    """
    w, r = _sweep(ws, rs)
    out: list[float | None] = []
    for m in range(w.shape[1]):
        if len(w) < 2 or np.ptp(w[:, m]) == 0:
            out.append(None)
        elif np.ptp(r[:, m]) == 0:
            out.append(0.0)
        else:
            out.append(float(spearmanr(w[:, m], r[:, m]).statistic))
    return out


def neighbour_steps(ws: ArrayLike, tol: float = 1e-6) -> list[tuple[int, int, int, int]]:
    """Neighbouring grid steps as (i, j, m, k): going from ws[i] to ws[j] moves one grid
    step of mass from objective k to objective m (w_m increases, w_k decreases).

    M = 2: the sweep is a line; steps join consecutive points sorted by w_0, so uneven grids
    work too. M > 2: steps join pairs that differ by +d on one objective and -d on another,
    d being the grid's smallest such step (uniform / Das-Dennis simplex grids). A w that
    appears twice in the sweep is one grid point (its last row).
    """
    w = np.unique(as_points(ws), axis=0)
    index = {tuple(np.round(row, 9)): i for i, row in enumerate(as_points(ws))}
    ids = [index[tuple(np.round(row, 9))] for row in w]
    if len(w) < 2:
        return []
    if w.shape[1] == 2:
        order = np.argsort(w[:, 0], kind="stable")
        return [(ids[a], ids[b], 0, 1) for a, b in itertools.pairwise(order)]
    candidates = []
    for a in range(len(w)):
        for b in range(a + 1, len(w)):
            d = w[b] - w[a]
            up, down = np.flatnonzero(d > tol), np.flatnonzero(d < -tol)
            if len(up) == 1 and len(down) == 1 and abs(d[up[0]] + d[down[0]]) <= tol:
                candidates.append((d[up[0]], ids[a], ids[b], int(up[0]), int(down[0])))
    if not candidates:
        return []
    step = min(c[0] for c in candidates)
    return [(i, j, m, k) for d, i, j, m, k in candidates if d <= step + tol]


def monotonicity(ws: ArrayLike, rs: ArrayLike, tol: float = 1e-9) -> float | None:
    """Share of neighbouring grid checks in which the rewards move the right way.

    For each step that moves mass from objective k to objective m, two checks: r_m must not
    fall and r_k must not rise (each within `tol`, so a saturated reward that stays flat
    still counts as right). None when the sweep has no neighbouring steps.
    """
    w, r = _sweep(ws, rs)
    steps = neighbour_steps(w)
    if not steps:
        return None
    ok = []
    for i, j, m, k in steps:
        ok.append(r[j, m] - r[i, m] >= -tol)
        ok.append(r[j, k] - r[i, k] <= tol)
    return float(np.mean(ok))


def range_covered(rs: ArrayLike, extremes: ArrayLike | None = None) -> float | None:
    """Mean over objectives of the sweep's range of r_m relative to the extremes' range.

    `extremes` is (M, 2): per objective the low and high r_m that single-objective models
    reach (r_m when optimising the other objectives, r_m when optimising m alone). Without
    it, the full normalised range [0, 1] is used. Objectives whose extremes coincide are
    skipped; None if all are.
    """
    r = as_points(rs)
    if len(r) < 2:
        return None
    ext = np.tile([0.0, 1.0], (r.shape[1], 1)) if extremes is None else as_points(extremes)
    span = ext[:, 1] - ext[:, 0]
    valid = np.abs(span) > 1e-12
    if not np.any(valid):
        return None
    return float(np.mean(np.ptp(r, axis=0)[valid] / np.abs(span[valid])))


def largest_jump(ws: ArrayLike, rs: ArrayLike) -> float | None:
    """Largest change of any one reward between neighbouring grid points (max-norm)."""
    w, r = _sweep(ws, rs)
    steps = neighbour_steps(w)
    if not steps:
        return None
    return float(max(np.max(np.abs(r[j] - r[i])) for i, j, _, _ in steps))


def blend_score(middle: ArrayLike, low: ArrayLike, high: ArrayLike, q: float = 0.1
                ) -> float | None:
    """Share of in-between samples that are real blends rather than one extreme or the other.

    `middle`, `low`, `high`: per-sample values of one reward at an in-between w and at the
    two extremes (where that reward is pushed down and up). A sample counts as a blend when
    it lies strictly above the low extreme's (1 - q) quantile and strictly below the high
    extreme's q quantile. A model that outputs a mixture of pure extremes scores near 0, one
    that outputs in-between images near 1. None if the extremes' bands overlap.
    """
    mid, lo, hi = (np.asarray(x, dtype=float).ravel() for x in (middle, low, high))
    if min(len(mid), len(lo), len(hi)) == 0:
        return None
    lo_edge, hi_edge = np.quantile(lo, 1.0 - q), np.quantile(hi, q)
    if lo_edge >= hi_edge:
        return None
    return float(np.mean((mid > lo_edge) & (mid < hi_edge)))
