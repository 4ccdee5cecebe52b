"""Statistics over seeds (and samples): percentile bootstrap intervals clipped to a metric's
possible range, paired differences and the probability of improvement.

Replicates: a method's metric is held as an (S, B) array, seed s in rows and B bootstrap
replicates of that seed's samples in columns (all columns equal when there is no per-sample
data). The bootstrap over seeds AND samples draws S seeds with replacement for every
replicate b and averages their column-b values (`seed_draws`), so an interval reflects both
the spread between seeds and the sampling noise of each evaluation. Percentile intervals
(rather than Student-t intervals that assume normality and spill outside [0, 1] with three
seeds) are then clipped to the declared range of the metric. Resampling images adds noise
to every per-w mean, and metrics built from maxima and ranks (HV, Spearman) shift under
that noise; the draws are therefore re-centred on the observed estimate (their mean shift,
the bootstrap estimate of bias, is removed) before the percentiles are taken, so that an
interval is the spread around the number the table prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
RESAMPLES = 1000
SEED = 0  # fixed generator seed: the same records give the same report


@dataclass(frozen=True)
class Summary:
    """Mean over seeds with a 95% interval (None for a single seed without samples) and
    the seeds' min-max."""

    mean: float
    ci_low: float | None
    ci_high: float | None
    min: float
    max: float
    n: int


def clip_interval(low: float, high: float, bounds: tuple[float, float] | None
                  ) -> tuple[float, float]:
    """An interval clipped to the metric's possible range [lo, hi]."""
    if bounds is None:
        return low, high
    lo, hi = bounds
    return float(np.clip(low, lo, hi)), float(np.clip(high, lo, hi))


def percentile_interval(draws: np.ndarray, bounds: tuple[float, float] | None = None,
                        level: float = LEVEL, estimate: float | None = None
                        ) -> tuple[float, float] | None:
    """Percentile interval of bootstrap draws (NaN draws ignored), re-centred on `estimate`
    when given (the draws' mean moved onto it), clipped to `bounds`."""
    d = np.asarray(draws, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return None
    if estimate is not None and np.isfinite(estimate):
        d = d - (d.mean() - estimate)
    tail = 50 * (1 - level)
    low, high = np.percentile(d, [tail, 100 - tail])
    return clip_interval(float(low), float(high), bounds)


def common_rows(seed: int, b: int, n: int) -> np.ndarray:
    """(b, n) image rows drawn with replacement for bootstrap replicate b of evaluation seed
    `seed`: the same for every method, preference and checkpoint evaluated on that seed's
    prompts and noise (common random numbers), so a paired difference compares the two
    methods on the same images and the noise they share cancels."""
    return np.random.default_rng([SEED, 104729, int(seed), int(n)]).integers(0, n, size=(b, n))


def seed_draws(reps: np.ndarray, rng: np.random.Generator, b: int = RESAMPLES
               ) -> np.ndarray:
    """B draws of the mean over seeds: per replicate, S seeds drawn with replacement, each
    contributing its sample-resampled value of that replicate. `reps` is (S, B') with B'
    equal to b or 1 (no per-sample data: seeds only). Seeds without a value (NaN) are left
    out before drawing."""
    r = np.asarray(reps, dtype=float)
    r = r[np.isfinite(r).any(axis=1)]
    if len(r) == 0:
        return np.full(b, np.nan)
    b = r.shape[1] if r.shape[1] > 1 else b
    r = np.broadcast_to(r, (len(r), b)) if r.shape[1] == 1 else r
    pick = rng.integers(0, len(r), size=(b, len(r)))
    return np.nanmean(r[pick, np.arange(b)[:, None]], axis=1)


def summarise(values: Iterable[float | None], bounds: tuple[float, float] | None = None,
              reps: np.ndarray | None = None, seed: int = SEED) -> Summary | None:
    """Summarise one metric over seeds; None if no seed has a value.

    `values`: the per-seed point estimates. `reps`: their (S, B) sample replicates, for the
    bootstrap over seeds and samples; without it, seeds only. One seed without replicates
    has no interval (None); seeds that all agree give a zero-width interval, shown as such.
    """
    raw = np.array([np.nan if x is None else x for x in values], dtype=float)
    v = raw[np.isfinite(raw)]
    if len(v) == 0:
        return None
    low = high = None
    if reps is not None or len(v) > 1:
        r = (v[:, None] if reps is None
             else np.asarray(reps, dtype=float)[np.isfinite(raw)])
        # Re-centre only draws that resampled images: the mean over seeds alone is unbiased.
        interval = percentile_interval(seed_draws(r, np.random.default_rng(seed)), bounds,
                                       estimate=None if reps is None else float(np.mean(v)))
        if interval is not None:
            low, high = interval
    return Summary(float(np.mean(v)), low, high, float(np.min(v)), float(np.max(v)), len(v))


def difference_draws(x: np.ndarray, x_seeds: Sequence[int], y: np.ndarray,
                     y_seeds: Sequence[int], seed: int = SEED, b: int = RESAMPLES
                     ) -> np.ndarray:
    """Bootstrap draws of mean(X) - mean(Y) from two (S, B) replicate arrays.

    Paired when both have the same seeds (one draw of seeds serves both, so seed-to-seed
    variation shared by the two methods cancels); otherwise the two are drawn independently.
    """
    rng = np.random.default_rng(seed)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    b = max(x.shape[1], y.shape[1]) if max(x.shape[1], y.shape[1]) > 1 else b
    if list(x_seeds) == list(y_seeds):
        d = np.broadcast_to(x, (len(x), b)) - np.broadcast_to(y, (len(y), b))
        return seed_draws(d, rng, b)
    return seed_draws(x, rng, b) - seed_draws(y, rng, b)


def probability_of_improvement(x: Sequence[float], y: Sequence[float]) -> float | None:
    """P(X > Y) as rliable defines it: over every pair of a run of X and a run of Y, 1 if
    X's score is larger, 1/2 on a tie, 0 otherwise, averaged (the Mann-Whitney U / (n m))."""
    a = np.asarray([v for v in x if v is not None and np.isfinite(v)], dtype=float)
    c = np.asarray([v for v in y if v is not None and np.isfinite(v)], dtype=float)
    if len(a) == 0 or len(c) == 0:
        return None
    diff = a[:, None] - c[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))


def overlaps_zero(draws: np.ndarray, estimate: float | None = None) -> bool:
    """True when the 95% interval of a difference (re-centred on its observed `estimate`)
    contains 0: the two cannot be told apart."""
    interval = percentile_interval(draws, estimate=estimate)
    return interval is not None and interval[0] <= 0.0 <= interval[1]


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of p-values for a family of comparisons (None stays None):
    the i-th smallest of the m defined p-values is multiplied by m - i + 1, then made
    non-decreasing and capped at 1. Controls the family-wise error rate."""
    defined = [(p, i) for i, p in enumerate(pvalues) if p is not None and np.isfinite(p)]
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(defined)):
        running = max(running, min(1.0, (len(defined) - rank) * p))
        out[i] = running
    return out


def paired_t_pvalue(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Two-sided p-value of the paired t-test of per-seed values x against y (scipy); None
    with fewer than 2 pairs, 1.0 when every pair agrees."""
    from scipy.stats import ttest_rel

    a, c = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(a) & np.isfinite(c)
    if keep.sum() < 2:
        return None
    d = a[keep] - c[keep]
    if np.allclose(d, d[0]):
        return 1.0 if np.isclose(d[0], 0.0) else 0.0
    return float(ttest_rel(a[keep], c[keep]).pvalue)


def t_upper_bound(values: np.ndarray, level: float = LEVEL, axis: int = -1) -> np.ndarray:
    """One-sided upper confidence bound of a mean over seeds, mean + t(level, S-1) sd / sqrt(S),
    along `axis`; with one seed, the value itself."""
    from scipy.stats import t

    v = np.asarray(values, dtype=float)
    s = v.shape[axis]
    if s < 2:
        return v.mean(axis=axis)
    return v.mean(axis=axis) + t.ppf(level, s - 1) * v.std(axis=axis, ddof=1) / np.sqrt(s)


def improvement_interval(x: Sequence[float], y: Sequence[float], b: int = RESAMPLES,
                         seed: int = SEED) -> tuple[float, float] | None:
    """95% interval of P(X > Y) by the stratified bootstrap rliable uses: X's and Y's seeds
    redrawn with replacement, each within its own method; clipped to [0, 1]."""
    a = np.asarray([v for v in x if v is not None and np.isfinite(v)], dtype=float)
    c = np.asarray([v for v in y if v is not None and np.isfinite(v)], dtype=float)
    if len(a) < 2 or len(c) < 2:
        return None
    rng = np.random.default_rng(seed)
    xa = a[rng.integers(0, len(a), size=(b, len(a)))]
    yc = c[rng.integers(0, len(c), size=(b, len(c)))]
    diff = xa[:, :, None] - yc[:, None, :]
    return percentile_interval(((diff > 0) + 0.5 * (diff == 0)).mean(axis=(1, 2)), (0.0, 1.0))


def paired_on_common_seeds(x: Sequence[float], x_seeds: Sequence[int], y: Sequence[float],
                           y_seeds: Sequence[int]) -> float | None:
    """Paired t-test p-value of x against y on the seeds both have."""
    common = sorted(set(x_seeds) & set(y_seeds))
    xi = {s: v for s, v in zip(x_seeds, x)}
    yi = {s: v for s, v in zip(y_seeds, y)}
    return paired_t_pvalue([xi[s] for s in common], [yi[s] for s in common])


def holm_against(runs: Mapping[str, tuple[Sequence[float], Sequence[int]]], target: str
                 ) -> dict[str, float | None]:
    """Holm-adjusted p-values of the paired t-test of every entry of `runs` (name -> per-seed
    values, seeds) against `target` on their common seeds (None where fewer than two)."""
    others = [m for m in runs if m != target]
    values, seeds = runs[target]
    return dict(zip(others, holm([paired_on_common_seeds(*runs[m], values, seeds)
                                  for m in others]), strict=True))
