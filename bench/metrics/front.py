"""Front-quality metrics on normalised per-w mean rewards.

Convention: every reward is first mapped to [0, 1] by its declared range (see `normalise`),
and larger is better. pymoo and moocore minimise, so points are negated before they are
handed over (`to_minimisation`). A metric that is undefined for its input returns None,
never a number, so that the report can print "n/a".
"""

from __future__ import annotations

from collections.abc import Sequence

import moocore
import numpy as np
from pymoo.indicators.hv import HV
from pymoo.indicators.igd_plus import IGDPlus

ArrayLike = Sequence[Sequence[float]] | np.ndarray


def normalise(values: Sequence[float], ranges: Sequence[Sequence[float]]) -> np.ndarray:
    """Map raw rewards to [0, 1] by their declared (lo, hi) ranges, clipping overshoot.

    Clipping keeps the hypervolume's ideal box meaningful when a scorer slightly leaves its
    declared range (float noise, a loose bound).
    """
    v = np.asarray(values, dtype=float)
    r = np.asarray(ranges, dtype=float).reshape(-1, 2)
    lo, hi = r[:, 0], r[:, 1]
    if not np.all(np.isfinite(r)) or np.any(hi <= lo):
        raise ValueError(f"declared ranges must be finite with lo < hi, got {r.tolist()}")
    return np.clip((v - lo) / (hi - lo), 0.0, 1.0)


def as_points(points: ArrayLike) -> np.ndarray:
    """Return points as a float (N, M) array (an empty input gives shape (0, 0))."""
    p = np.asarray(points, dtype=float)
    if p.size == 0:
        return p.reshape(0, p.shape[-1] if p.ndim == 2 else 0)
    return np.atleast_2d(p)


def to_minimisation(points: ArrayLike) -> np.ndarray:
    """Negate maximisation points so that pymoo / moocore can read them."""
    return -as_points(points)


def non_dominated(points: ArrayLike) -> np.ndarray:
    """Non-dominated subset (maximisation) with duplicate rows removed."""
    p = np.unique(as_points(points), axis=0)
    if len(p) == 0:
        return p
    # q dominates p if q >= p everywhere and q > p somewhere.
    ge = np.all(p[None, :, :] >= p[:, None, :], axis=2)
    gt = np.any(p[None, :, :] > p[:, None, :], axis=2)
    dominated = np.any(ge & gt, axis=1)
    return p[~dominated]


def cardinality(points: ArrayLike) -> int:
    """Number of distinct non-dominated points."""
    return len(non_dominated(points))


def hypervolume(points: ArrayLike, ref: Sequence[float]) -> float | None:
    """Hypervolume dominated by `points` above the reference point `ref` (maximisation).

    Computed with pymoo's HV indicator (moocore underneath) on the non-dominated set, in
    minimisation form. Points that do not strictly beat `ref` in every objective add nothing.
    Returns None for an empty point set.
    """
    front = non_dominated(points)
    if len(front) == 0:
        return None
    ref = np.asarray(ref, dtype=float)
    if front.shape[1] != ref.shape[0]:
        raise ValueError(f"points have {front.shape[1]} objectives, ref has {ref.shape[0]}")
    return float(HV(ref_point=-ref)(to_minimisation(front)))


def ideal_box_volume(ref: Sequence[float], high: Sequence[float] | None = None) -> float:
    """Volume of the ideal box [ref, high]^M: the largest hypervolume a normalised front can
    have. `high` is the box's upper corner (a suite's declared `ideal_box`), else all ones."""
    ref = np.asarray(ref, dtype=float)
    top = np.ones_like(ref) if high is None else np.asarray(high, dtype=float)
    return float(np.prod(np.maximum(top - ref, 0.0)))


def normalised_hypervolume(points: ArrayLike, ref: Sequence[float],
                           high: Sequence[float] | None = None) -> float | None:
    """Hypervolume of the points clipped to the ideal box [ref, high]^M, divided by the box's
    volume: in [0, 1], 1.0 = the box's top corner reached. `high` defaults to all ones, the
    top of the normalised range; a point beyond the box earns no more than its corner."""
    pts = np.asarray(points, dtype=float)
    hv = hypervolume(pts if high is None else np.minimum(pts, np.asarray(high, float)), ref)
    box = ideal_box_volume(ref, high)
    if hv is None or box <= 0:
        return None
    return hv / box


def hypervolume_batch(points: np.ndarray, ref: Sequence[float]) -> np.ndarray:
    """Hypervolume of each of B point sets (B, K, M), maximisation; NaN rows add nothing.

    M = 2 is exact and vectorised (a staircase: sort by r_0 descending, each point adds its
    width times the rise of the running maximum of r_1). M > 2 calls moocore per set.
    """
    p = np.asarray(points, dtype=float)
    ref = np.asarray(ref, dtype=float)
    p = np.where(np.isnan(p), ref, np.maximum(p, ref)) - ref  # >= 0, 0 adds nothing
    if p.shape[-1] == 2:
        order = np.argsort(-p[..., 0], axis=-1, kind="stable")
        x = np.take_along_axis(p[..., 0], order, axis=-1)
        top = np.maximum.accumulate(np.take_along_axis(p[..., 1], order, axis=-1), axis=-1)
        rise = np.diff(top, axis=-1, prepend=0.0)
        return np.sum(x * rise, axis=-1)
    zero = np.zeros(p.shape[-1])
    return np.array([float(moocore.hypervolume(-q[np.all(q > 0, axis=1)], ref=zero))
                     if np.any(np.all(q > 0, axis=1)) else 0.0 for q in p])


def greedy_subset(points: np.ndarray, k: int, ref: Sequence[float]) -> np.ndarray:
    """Indices (B, min(k, K)) of up to k of the K candidate points (B, K, M), picked one at a
    time by largest hypervolume gain; -1 pads a set once no candidate adds volume (a point
    that adds nothing is not among the best). Ties go to the lowest index, so the pick is
    deterministic. Used to score every method on the same number of points."""
    p = np.asarray(points, dtype=float)
    b, n = p.shape[:2]
    rows = np.arange(b)
    chosen = np.full((b, min(k, n)), -1, dtype=int)
    taken = np.zeros((b, n), dtype=bool)
    current = np.zeros(b)
    for step in range(min(k, n)):
        picked = gather(p, chosen[:, :step])
        gains = np.full((b, n), -np.inf)
        for c in range(n):
            trial = np.concatenate([picked, p[:, c:c + 1]], axis=1)
            gains[:, c] = np.where(taken[:, c], -np.inf, hypervolume_batch(trial, ref) - current)
        pick = np.argmax(gains, axis=1)  # first maximum: lowest index wins ties
        gain = gains[rows, pick]
        useful = gain > 1e-15
        chosen[useful, step] = pick[useful]
        taken[rows[useful], pick[useful]] = True
        current = current + np.where(useful, gain, 0.0)
    return chosen


def gather(points: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """points[b, idx[b]] for (B, K, M) points and (B, J) indices; index -1 gives a NaN row."""
    safe = np.take_along_axis(points, np.clip(idx, 0, None)[..., None], axis=1)
    return np.where(idx[..., None] >= 0, safe, np.nan)


def expected_utility(points: ArrayLike, grid: ArrayLike) -> float | None:
    """EUM: mean over grid preferences w of the best linear utility w.r among the points."""
    p, g = as_points(points), as_points(grid)
    if len(p) == 0 or len(g) == 0:
        return None
    return float(np.mean(np.max(g @ p.T, axis=1)))


def conditioned_utility(ws: ArrayLike, points: ArrayLike) -> float | None:
    """CU: mean over w of w.r(model at w), row i of `points` being the model asked for ws[i].

    EUM - CU measures mis-calibration: how much utility the slider leaves on the table by
    not delivering, at w, the best trade-off it can reach somewhere else.
    """
    w, p = as_points(ws), as_points(points)
    if len(w) == 0:
        return None
    if w.shape != p.shape:
        raise ValueError(f"ws {w.shape} and points {p.shape} must match")
    return float(np.mean(np.sum(w * p, axis=1)))


def igd_plus(points: ArrayLike, reference_front: ArrayLike) -> float | None:
    """IGD+ of `points` to `reference_front` (both maximisation), via pymoo's IGDPlus.

    The reference front is usually the merged non-dominated set of every method in a suite.
    """
    p, ref = as_points(points), non_dominated(reference_front)
    if len(p) == 0 or len(ref) == 0:
        return None
    return float(IGDPlus(to_minimisation(ref))(to_minimisation(p)))


def merged_front(point_sets: Sequence[ArrayLike]) -> np.ndarray:
    """Non-dominated union of several point sets (the IGD+ reference of a suite)."""
    sets = [as_points(s) for s in point_sets if len(as_points(s))]
    if not sets:
        return np.zeros((0, 0))
    return non_dominated(np.vstack(sets))
