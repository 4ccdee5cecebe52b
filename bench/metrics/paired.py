"""Paired comparisons of every method against one reference method (the slider).

For each metric: the difference method - reference, its 95% bootstrap interval (paired on
the common seeds, and over images where side files exist; see `bench.metrics.stats`) and the
probability of improvement P(method better than reference) over all pairs of their seeds,
as rliable defines it (P(X > Y), ties 1/2; for metrics where lower is better, P(X < Y)),
with its stratified-bootstrap interval; and the paired t-test over common seeds, Holm-
corrected over the comparisons of one metric (`<col>_p`, `<col>_p_holm`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bench.metrics import point as _builtin  # noqa: F401  (registers the metrics)
from bench.metrics.registry import label, larger_is_better
from bench.metrics.stats import (
    difference_draws,
    holm,
    improvement_interval,
    paired_on_common_seeds,
    percentile_interval,
    probability_of_improvement,
)

REFERENCE = "paretoslider"
COMPARED = tuple((col, label(col)) for col in ("heldout_hv_matched", "heldout_hv",
                                                "heldout_regret_mean", "heldout_cu",
                                                "heldout_blend"))


def _seed_values(per_run: pd.DataFrame, method: str, col: str) -> tuple[np.ndarray, list[int]]:
    group = per_run[(per_run["method"] == method) & per_run["same_as_seed"].isna()]
    return pd.to_numeric(group[col], errors="coerce").to_numpy(dtype=float), list(group["seed"])


def comparisons(per_run: pd.DataFrame, replicates: Mapping[str, Mapping[str, Any]],
                reference: str = REFERENCE, cols: Sequence[str] = tuple(c for c, _ in COMPARED)
                ) -> pd.DataFrame:
    """One row per other method: `<col>_diff`, `<col>_diff_ci_low/high`, `<col>_p_better`.
    Empty when the reference method has no runs."""
    if reference not in set(per_run["method"]):
        return pd.DataFrame()
    rows = []
    for method in dict.fromkeys(per_run["method"]):
        if method == reference:
            continue
        row: dict[str, Any] = {"method": method, "reference": reference}
        for col in cols:
            x, xs = _seed_values(per_run, method, col)
            y, ys = _seed_values(per_run, reference, col)
            if col not in per_run or not np.isfinite(x).any() or not np.isfinite(y).any():
                row.update({f"{col}_diff": None, f"{col}_diff_ci_low": None,
                            f"{col}_diff_ci_high": None, f"{col}_p_better": None,
                            f"{col}_p_better_ci_low": None, f"{col}_p_better_ci_high": None,
                            f"{col}_p": None})
                continue
            rx = replicates.get(method, {}).get(col, x[:, None])
            ry = replicates.get(reference, {}).get(col, y[:, None])
            diff = float(np.nanmean(x) - np.nanmean(y))
            interval = percentile_interval(difference_draws(rx, xs, ry, ys), estimate=diff)
            sign = 1.0 if larger_is_better(col) else -1.0
            row.update({f"{col}_diff": diff,
                        f"{col}_diff_ci_low": None if interval is None else interval[0],
                        f"{col}_diff_ci_high": None if interval is None else interval[1],
                        f"{col}_p_better": probability_of_improvement(sign * x, sign * y)})
            pi = improvement_interval(sign * x, sign * y)
            row[f"{col}_p_better_ci_low"], row[f"{col}_p_better_ci_high"] = pi or (None, None)
            row[f"{col}_p"] = paired_on_common_seeds(x, xs, y, ys)
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in cols:  # the family: every method's comparison with the reference on one metric
        if f"{col}_p" in out:
            out[f"{col}_p_holm"] = holm(list(out[f"{col}_p"]))
    return out
