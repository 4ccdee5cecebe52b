"""Curves over budget: the front of each method at every checkpoint fraction of its budget.

Records with "checkpoint" < 1 hold weights snapshotted part-way through training; together
with the final records they give held-out HV and regret against the denoiser passes spent
("passes" of the record, else the cost's forward + backward passes). The area under the
HV-vs-passes curve is the trapezoid over the checkpoints, divided by the suite's budget B
(the largest passes of any run): a method that gets its front early scores high.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bench.metrics.resample import Context, replicate, sweep_metrics
from bench.metrics.run_arrays import build_runs

CURVE_METRICS = ("heldout_hv", "heldout_hv_matched", "heldout_regret_mean")


def has_checkpoints(records: Sequence[dict]) -> bool:
    return any(float(r.get("checkpoint", 1.0)) < 1.0 for r in records)


def curves(records: Sequence[dict], ctx: Context, exclude: Sequence[str] = ("oracle",)
           ) -> pd.DataFrame:
    """One row per (method, seed, checkpoint): passes and CURVE_METRICS (observed numbers)."""
    rows = []
    for final in (False, True):
        runs, _ = build_runs([r for r in records if r["method"] not in exclude], None, final)
        for run in runs:
            found = sweep_metrics(run, *replicate(run, 0), ctx, True)
            row: dict[str, Any] = {"method": run.method, "seed": run.seed,
                                   "checkpoint": run.checkpoint, "passes": run.passes(),
                                   "w_dependent": run.w_dependent}
            row.update({k: float(found[k][0]) for k in CURVE_METRICS})
            row.update({f"heldout_mean_{i}": float(v) for i, v in
                        enumerate(run.means["heldout"].mean(axis=0))})
            rows.append(row)
    return pd.DataFrame(rows).sort_values(["method", "seed", "checkpoint"], kind="stable")


def area_under(passes: np.ndarray, values: np.ndarray, budget: float) -> float | None:
    """Trapezoid area under values(passes) over the checkpoints, divided by the budget;
    None with fewer than two finite points or no budget."""
    ok = np.isfinite(passes) & np.isfinite(values)
    if ok.sum() < 2 or not budget:
        return None
    order = np.argsort(passes[ok])
    return float(np.trapezoid(values[ok][order], passes[ok][order]) / budget)


def summary(curve: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per method and checkpoint: mean over seeds of passes and CURVE_METRICS with min-max;
    per method: area under the HV and regret curves, mean over seeds)."""
    if curve.empty:
        return pd.DataFrame(), pd.DataFrame()
    budget = float(np.nanmax(curve["passes"].to_numpy(dtype=float)))
    agg = {"passes": ["mean", "min", "max"], "seed": "count"}
    agg.update({k: ["mean", "min", "max"] for k in CURVE_METRICS})
    table = curve.groupby(["method", "checkpoint"], sort=False).agg(agg)
    table.columns = [f"{a}_{b}" if b != "mean" else a for a, b in table.columns]
    table = table.rename(columns={"seed_count": "n_seeds"}).reset_index()
    areas = []
    for method, group in curve.groupby("method", sort=False):
        per_seed = {k: [area_under(g["passes"].to_numpy(float), g[k].to_numpy(float), budget)
                        for _, g in group.groupby("seed")] for k in CURVE_METRICS}
        row = {"method": method, "budget": budget}
        for k, vals in per_seed.items():
            vals = [v for v in vals if v is not None]
            row[f"auc_{k}"] = float(np.mean(vals)) if vals else None
        areas.append(row)
    return table, pd.DataFrame(areas)
