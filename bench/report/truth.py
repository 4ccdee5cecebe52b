"""Metrics against a known front: records that carry `truth` (the target sets' true optimum
at each w, `paretoslider.rewards.targets`).

Per run (method and seed, final checkpoint), in the held-out space (the twins share the
training targets' optimum, so the truth is the same number there):
- regret_true mean / worst over w: the true optimum's w.r minus the run's mean w.r at w, on
  normalised scores; never below 0 for a policy, since the optimum is a maximum over images;
- hv_ratio: HV of the run's per-w mean points over the HV of the true optimal points on the
  same grid, with the suite's reference point (1 = the true front reached on that grid);
- r2: the R2 indicator with Tchebycheff utility and the utopia point 1 (lower is better):
  mean over the grid's w of min over the run's points p of max_m w_m (1 - p_m); the true
  front's own R2 is printed beside it as the floor.
Intervals: 95% bootstrap over seeds, clipped to each metric's range.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bench.metrics.front import hypervolume
from bench.metrics.run_arrays import Run, build_runs
from bench.metrics.stats import summarise
from bench.report.aggregate import ORACLE, suite_ref
from bench.report.tables import NA, Section, fmt

Record = Mapping[str, Any]
METRICS = {"regret_true_mean": (-1.0, 1.0), "regret_true_worst": (-1.0, 1.0),
           "hv_ratio": (0.0, 2.0), "r2": (0.0, 1.0)}
LABELS = {"regret_true_mean": "Regret (truth) mean", "regret_true_worst": "Regret (truth) worst",
          "hv_ratio": "HV ratio", "r2": "R2"}
SPACE = "heldout"


def has_truth(records: Sequence[Record]) -> bool:
    return bool(records) and all(r.get("truth") is not None for r in records)


def r2(points: np.ndarray, ws: np.ndarray) -> float:
    """R2 (Tchebycheff, utopia 1) of a point set over the preferences ws."""
    gaps = (ws[:, None, :] * (1.0 - points[None, :, :])).max(axis=2)  # (W, P)
    return float(gaps.min(axis=1).mean())


def run_metrics(run: Run, ref: np.ndarray) -> dict[str, float]:
    truth = np.array([r["truth"]["utility"] for r in run.records])
    best = np.array([r["truth"]["scores"] for r in run.records])
    means = run.means[SPACE]
    regret = truth - (run.ws * means).sum(axis=1)
    top = hypervolume(best, ref) or np.nan
    return {"regret_true_mean": float(regret.mean()), "regret_true_worst": float(regret.max()),
            "hv_ratio": float((hypervolume(means, ref) or 0.0) / top),
            "r2": r2(means, run.ws), "r2_truth": r2(best, run.ws)}


def truth_table(records: Sequence[Record]) -> pd.DataFrame:
    """One row per (method, seed) with the metrics above."""
    runs, _ = build_runs([r for r in records if r["method"] != ORACLE])
    ref = suite_ref(records)
    return pd.DataFrame([{"method": run.method, "seed": run.seed, **run_metrics(run, ref)}
                         for run in runs])


def truth_summary(records: Sequence[Record]) -> pd.DataFrame:
    """One row per method: each metric's mean over seeds and 95% interval."""
    table = truth_table(records)
    rows = []
    for method, group in table.groupby("method", sort=False):
        row: dict[str, Any] = {"method": method, "n_seeds": len(group),
                               "r2_truth": float(group["r2_truth"].mean())}
        for col, bounds in METRICS.items():
            found = summarise(group[col].tolist(), bounds)
            row[col] = found.mean if found else None
            row[f"{col}_ci_low"] = found.ci_low if found else None
            row[f"{col}_ci_high"] = found.ci_high if found else None
        rows.append(row)
    return pd.DataFrame(rows)


def truth_section(records: Sequence[Record]) -> Section | None:
    """The leaderboard's "Known front" section; None without truth in the records."""
    if not has_truth(records):
        return None
    summary = truth_summary(records)
    body = []
    for _, r in summary.iterrows():
        cells = [(r["method"], False)]
        for col in METRICS:
            text = NA if r[col] is None or pd.isna(r[col]) else (
                f"{r[col]:.3f} [{fmt(r[f'{col}_ci_low'])}, {fmt(r[f'{col}_ci_high'])}]")
            cells.append((text, False))
        body.append(cells)
    floor = float(summary["r2_truth"].mean()) if len(summary) else np.nan
    return Section("Known front (held-out)", ["Method", *LABELS.values()], body, notes=[
        ("Regret against the true optimum max over images of w.r at each w (never below 0 for "
        "a policy), mean and worst over w; HV ratio: HV of the method's per-w means over the "
        f"true optimal points' HV on the same grid; R2: Tchebycheff, utopia 1, lower is better "
        f"(the true front's own R2 is {floor:.3f}). 95% bootstrap over seeds.")])


COMPARED = ("regret_true_mean", "hv_ratio", "r2")


def truth_comparisons(records: Sequence[Record], reference: str = "paretoslider") -> pd.DataFrame:
    """Per other method and metric: the mean paired difference to the reference over common
    seeds, its paired t-test p-value and Holm's adjustment over the methods compared."""
    from bench.metrics.stats import holm, paired_on_common_seeds

    table = truth_table(records)
    ref = table[table["method"] == reference]
    if ref.empty:
        return pd.DataFrame()
    rows = []
    for method, group in table[table["method"] != reference].groupby("method", sort=False):
        row: dict[str, Any] = {"method": method, "reference": reference}
        for col in COMPARED:
            common = sorted(set(group["seed"]) & set(ref["seed"]))
            x = group.set_index("seed").loc[common, col]
            y = ref.set_index("seed").loc[common, col]
            row[f"{col}_diff"] = float((x - y).mean()) if common else None
            row[f"{col}_p"] = paired_on_common_seeds(list(x), common, list(y), common)
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in COMPARED:
        out[f"{col}_p_holm"] = holm(list(out[f"{col}_p"]))
    return out


def comparisons_markdown(parts: Mapping[int, pd.DataFrame]) -> str:
    """The paired differences against the slider at every M (`parts`: M -> comparisons)."""
    head = ["M", "Method", *(f"{LABELS[c]} diff (p Holm)" for c in COMPARED)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m, comp in sorted(parts.items()):
        for _, r in comp.iterrows():
            cells = [f"{r[f'{c}_diff']:+.3f} ({fmt(r[f'{c}_p_holm'])})"
                     if r[f"{c}_diff"] is not None and not pd.isna(r[f"{c}_diff"]) else NA
                     for c in COMPARED]
            lines.append("| " + " | ".join([str(m), r["method"], *cells]) + " |")
    return "\n".join([
        "# Against the slider at every M (held-out, known front)", "",
        ("method - paretoslider, mean over common seeds; p: paired t-test over seeds, "
        "Holm-corrected over the methods of one M and metric. Regret and R2: lower is better."),
        "", *lines]) + "\n"
