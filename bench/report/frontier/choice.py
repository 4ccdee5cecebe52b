"""HV at an adherence budget: each method's best setting among those that keep the prompt.

For a budget delta, a setting is admissible when the one-sided 95% upper bound of its mean
worst-w adherence drop below the base model (`stats.t_upper_bound` over seeds) is at most
delta; the method's value is the largest mean HV matched among its admissible settings.
The pick is redone inside every bootstrap resample (seeds drawn with replacement, the same
draw for every method, and image replicate b with common rows), so an interval includes the
uncertainty of choosing. Differences against the slider are taken in the same resamples;
the seed-level paired t-tests are Holm-corrected over the comparisons of one budget.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bench.metrics.stats import (
    SEED,
    holm_against,
    improvement_interval,
    paired_t_pvalue,
    percentile_interval,
    probability_of_improvement,
    t_upper_bound,
)
from bench.report.frontier.points import REFERENCE, Point

DELTAS = (0.02, 0.05, 0.10, 0.15, 0.20)  # the worst-w drop is noisy: the wider ones show more
ALPHA = 0.05


def common_seeds(methods: Mapping[str, Sequence[Point]]) -> list[int]:
    """The seeds every point has (a comparison is paired on them)."""
    sets = [set(p.seeds) for ps in methods.values() for p in ps]
    return sorted(set.intersection(*sets)) if sets else []


def _stack(points: Sequence[Point], seeds: list[int], scorer: str):
    """(J, S) observed HV and drop, and their (J, S, B) replicates, on the common seeds."""
    rows = [[p.seeds.index(s) for s in seeds] for p in points]
    hv = np.stack([p.hv[r] for p, r in zip(points, rows)])
    drop = np.stack([p.drop[scorer][r] for p, r in zip(points, rows)])
    hv_reps = np.stack([p.hv_reps[r] for p, r in zip(points, rows)])
    drop_reps = np.stack([p.drop_reps[scorer][r] for p, r in zip(points, rows)])
    return hv, drop, hv_reps, drop_reps


def _pick(hv_mean: np.ndarray, drop_ub: np.ndarray, delta: float) -> np.ndarray:
    """Index of the best admissible setting along axis 0, -1 where none is admissible."""
    masked = np.where(drop_ub <= delta + 1e-12, hv_mean, -np.inf)
    best = masked.argmax(axis=0)
    return np.where(np.isfinite(masked.max(axis=0)), best, -1)


def seed_draw(n_seeds: int, b: int) -> np.ndarray:
    """(B, S) seed indices drawn with replacement, shared by every method."""
    return np.random.default_rng([SEED, 31, n_seeds]).integers(0, n_seeds, size=(b, n_seeds))


def picks(points: Sequence[Point], seeds: list[int], scorer: str, delta: float,
          idx: np.ndarray) -> dict:
    """The observed pick and, per resample, the picked setting's per-seed HV (B, S)."""
    hv, drop, hv_reps, drop_reps = _stack(points, seeds, scorer)
    observed = int(_pick(hv.mean(axis=1), t_upper_bound(drop, axis=1), delta))
    b = hv_reps.shape[2]
    cols = np.arange(b)[:, None]
    hv_b = hv_reps[:, idx, cols]  # (J, B, S)
    drop_b = drop_reps[:, idx, cols]
    chosen = _pick(hv_b.mean(axis=2), t_upper_bound(drop_b, axis=2), delta)  # (B,)
    values = np.where((chosen >= 0)[:, None], hv_b[np.maximum(chosen, 0), np.arange(b)], np.nan)
    return {"observed": observed, "seed_values": hv[observed] if observed >= 0 else None,
            "chosen": chosen, "draws": values}


def _interval(draws: np.ndarray, estimate: float | None, bounds) -> tuple:
    if estimate is None:
        return None, None
    found = percentile_interval(draws, bounds, estimate=estimate)
    return found if found is not None else (None, None)


def budget_table(methods: Mapping[str, Sequence[Point]], scorer: str,
                 deltas: Sequence[float] = DELTAS, reference: str = REFERENCE) -> pd.DataFrame:
    """One row per (delta, method): the pick, its HV with interval, the share of resamples
    with an admissible setting and picking the same one, and the paired comparison with the
    reference (difference, P(improvement), raw and Holm-corrected p)."""
    seeds = common_seeds(methods)
    b = min(p.hv_reps.shape[1] for ps in methods.values() for p in ps)
    idx = seed_draw(len(seeds), b)
    rows = []
    for delta in deltas:
        found = {m: picks(ps, seeds, scorer, delta, idx) for m, ps in methods.items()}
        picked = {m: (f["seed_values"], seeds) for m, f in found.items()
                  if f["seed_values"] is not None}
        best = max(picked, key=lambda m: picked[m][0].mean(), default=None)
        ref = found.get(reference)
        p_raw = {m: _p(f, ref) for m, f in found.items() if m != reference}
        holm_ref = holm_against(picked, reference) if reference in picked else {}
        p_best = holm_against(picked, best) if best else {}
        for m, f in found.items():
            pts = methods[m]
            est = None if f["seed_values"] is None else float(f["seed_values"].mean())
            row = {"delta": delta, "method": m, "seeds": len(seeds),
                   "setting": pts[f["observed"]].label if f["observed"] >= 0 else None,
                   "extrapolated": bool(f["observed"] >= 0 and pts[f["observed"]].extrapolated),
                   "hv": est, "admissible_share": float(np.mean(f["chosen"] >= 0)),
                   "pick_share": float(np.mean(f["chosen"] == f["observed"]))
                   if f["observed"] >= 0 else None}
            row["hv_low"], row["hv_high"] = _interval(f["draws"].mean(axis=1), est, (0.0, 1.0))
            row.update(_versus(f, ref, est) if m != reference else {})
            row["p"] = p_raw.get(m)
            row["p_holm"] = holm_ref.get(m)
            row["tied_best"] = m == best or (p_best.get(m) is not None and p_best[m] >= ALPHA)
            rows.append(row)
    return pd.DataFrame(rows)


def _p(f: dict, g: dict | None) -> float | None:
    if g is None or f["seed_values"] is None or g["seed_values"] is None:
        return None
    return paired_t_pvalue(f["seed_values"], g["seed_values"])


def _versus(f: dict, ref: dict | None, est: float | None) -> dict:
    """Paired difference f - ref (interval over the resamples, the pick redone) and
    P(f > ref) over seed pairs with its stratified-bootstrap interval (bench.metrics.stats)."""
    if ref is None or est is None or ref["seed_values"] is None:
        return {}
    diff = est - float(ref["seed_values"].mean())
    lo, hi = _interval(f["draws"].mean(axis=1) - ref["draws"].mean(axis=1), diff, (-1.0, 1.0))
    pi = probability_of_improvement(f["seed_values"], ref["seed_values"])
    pi_lo, pi_hi = improvement_interval(f["seed_values"], ref["seed_values"]) or (None, None)
    return {"diff": diff, "diff_low": lo, "diff_high": hi, "pi": pi, "pi_low": pi_lo,
            "pi_high": pi_hi}
