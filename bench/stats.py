"""Statistics over seeds: mean, 95% interval and min-max.

Few seeds (< 10) get a Student-t interval; many seeds a percentile bootstrap, where the
t-interval's normality assumption is no longer needed. None values (a metric that is n/a
for a seed) are dropped; a metric that is n/a for every seed summarises to None.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

BOOTSTRAP_MIN_SEEDS = 10


@dataclass(frozen=True)
class Summary:
    """Mean over seeds with a confidence interval (None for a single seed) and the range."""

    mean: float
    ci_low: float | None
    ci_high: float | None
    min: float
    max: float
    n: int


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean: mean +- t_{(1+level)/2, n-1} * s / sqrt(n)."""
    mean = float(np.mean(values))
    sem = float(np.std(values, ddof=1) / np.sqrt(len(values)))
    if sem == 0.0:
        return mean, mean
    half = float(stats.t.ppf(0.5 + level / 2, df=len(values) - 1)) * sem
    return float(mean - half), float(mean + half)


def bootstrap_interval(values: np.ndarray, level: float = 0.95, seed: int = 0,
                       n_resamples: int = 9999) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean, seeded so that reports are reproducible."""
    if np.ptp(values) == 0:
        mean = float(values[0])
        return mean, mean
    # scipy >= 1.15 names the generator `rng`; older releases call it `random_state`.
    key = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    res = stats.bootstrap((values,), np.mean, confidence_level=level, method="percentile",
                          n_resamples=n_resamples, **{key: np.random.default_rng(seed)})
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarise(values: Iterable[float | None], level: float = 0.95) -> Summary | None:
    """Summarise one metric over seeds; None if no seed has a value."""
    v = np.array([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return None
    if len(v) == 1:
        low = high = None
    elif len(v) < BOOTSTRAP_MIN_SEEDS:
        low, high = t_interval(v, level)
    else:
        low, high = bootstrap_interval(v, level)
    return Summary(float(np.mean(v)), low, high, float(np.min(v)), float(np.max(v)), len(v))
