"""Slider controllability: does moving w move the rewards the way it says, and smoothly?

Inputs are a sweep: `ws` (K, M) preference vectors and `rs` (K, M) normalised per-w mean
rewards, row k being the model asked for ws[k]. Each function returns None where the
metric is undefined (a sweep of fewer than two distinct w, no neighbouring grid steps, or
extremes that coincide), never a number. `*_batch` variants take B resampled sweeps at
once (the bootstrap). Per-image analysis (`shares`) tells blending from switching: a
policy can move its per-w MEAN smoothly by mixing single-objective images in proportion
to w, without ever producing an image that shows both.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import rankdata, spearmanr

from bench.metrics.front import ArrayLike, as_points


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


MONOTONE_TOL = 1e-3  # on the normalised scale: below this, a step is evaluation noise


def monotonicity(ws: ArrayLike, rs: ArrayLike, tol: float = MONOTONE_TOL) -> float | None:
    """Share of neighbouring grid checks in which the rewards move the right way, strictly.

    For each step that moves mass from objective k to objective m, two checks: r_m must RISE
    by more than `tol` and r_k must FALL by more than `tol`. A flat step counts as wrong, so
    a policy that ignores w scores 0. None when the sweep has no neighbouring steps.
    """
    w, r = _sweep(ws, rs)
    out = monotonicity_batch(w, r[None], tol)
    return None if out is None else float(out[0])


def monotonicity_batch(ws: ArrayLike, rs: np.ndarray, tol: float = MONOTONE_TOL
                       ) -> np.ndarray | None:
    """`monotonicity` of B resampled sweeps rs (B, K, M) on the same ws (K, M)."""
    steps = neighbour_steps(ws)
    if not steps:
        return None
    i, j, m, k = (np.array(x) for x in zip(*steps, strict=True))
    rise = rs[:, j, m] - rs[:, i, m] > tol
    fall = rs[:, j, k] - rs[:, i, k] < -tol
    return np.concatenate([rise, fall], axis=1).mean(axis=1)


def spearman_batch(ws: ArrayLike, rs: np.ndarray) -> np.ndarray | None:
    """Mean over objectives of `spearman`, for B sweeps rs (B, K, M) on the same ws (K, M);
    None if no objective's w varies. A flat reward scores 0, as in `spearman`."""
    w = as_points(ws)
    cols = []
    for m in range(w.shape[1]):
        if len(w) < 2 or np.ptp(w[:, m]) == 0:
            continue
        rank_w = rankdata(w[:, m])
        rank_r = rankdata(rs[:, :, m], axis=1)
        dw = rank_w - rank_w.mean()
        dr = rank_r - rank_r.mean(axis=1, keepdims=True)
        norm = np.sqrt(np.sum(dw**2) * np.sum(dr**2, axis=1))
        cols.append(np.where(norm > 0, (dr @ dw) / np.where(norm > 0, norm, 1.0), 0.0))
    return np.mean(cols, axis=0) if cols else None


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


def jump_ratio(ws: ArrayLike, rs: ArrayLike) -> float | None:
    """Smoothness: per objective, the largest change between neighbouring grid points divided
    by the sweep's range of that objective; the maximum over objectives. 1.0: all of the
    change happens in one step (a switch); 1 / (steps) is the even ramp. Objectives that do
    not move are skipped; None if none moves or the sweep has no neighbouring steps."""
    w, r = _sweep(ws, rs)
    steps = neighbour_steps(w)
    span = np.ptp(r, axis=0) if len(r) else np.zeros(0)
    moving = span > 1e-12
    if not steps or not np.any(moving):
        return None
    jumps = np.max([np.abs(r[j] - r[i]) for i, j, _, _ in steps], axis=0)
    return float(np.max(jumps[moving] / span[moving]))


# An image "shows" objective m when its normalised per-image score reaches this. The style
# judges predict an image's blend weight of their style, and the weights of all styles sum
# to 1: an even two-style blend scores 0.5 on each, so a threshold of 0.5 would count almost
# no blend at all. 0.25 reads "at least a quarter of the image is that style".
SHOWS_THRESHOLD = 0.25


def interior(ws: ArrayLike) -> np.ndarray:
    """Mask of the w that ask for more than one objective (not a vertex of the simplex)."""
    return np.sum(as_points(ws) > 0, axis=1) >= 2


def shares(ws: ArrayLike, samples: np.ndarray, threshold: float = SHOWS_THRESHOLD
           ) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell shares of images that show every asked-for objective ("blend") and that show
    none of them ("neither"), for samples (..., K, N, M) of normalised per-image scores.

    At w the asked-for objectives are those with w_m > 0. Returns two (..., K) arrays; at
    the vertices (one objective asked for) both are NaN.
    """
    w = as_points(ws)
    asked = w > 0
    shows = np.asarray(samples) >= threshold
    hit = np.where(asked[:, None, :], shows, True)
    miss = np.where(asked[:, None, :], ~shows, True)
    both, neither = hit.all(axis=-1).mean(axis=-1), miss.all(axis=-1).mean(axis=-1)
    mask = interior(w)
    return np.where(mask, both, np.nan), np.where(mask, neither, np.nan)
