"""figures/frontier.png: HV matched against the worst-w adherence drop and against drift."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from bench.metrics.resample import BELOW_BASE_MARGIN
from bench.report.figures import save_figure


def _lines(table: pd.DataFrame):
    """One line per method (a merge: one per scale), points in knob order."""
    for method, group in table.groupby("method", sort=False):
        scales = group["setting"].str.extract(r"scale=([0-9.]+)")[0]
        for scale, line in group.groupby(scales.fillna(""), sort=True):
            yield (f"{method} x{scale}" if scale else method), line


def frontier_plot(table: pd.DataFrame, scorer: str, path: str | Path) -> Path:
    panels = [(f"drop:{scorer}", f"worst-w adherence drop below the base ({scorer})"),
              ("drift", "drift from the base model (RMS image distance)")]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), squeeze=False)
    colors = {m: f"C{i}" for i, m in enumerate(dict.fromkeys(table["method"]))}
    for ax, (col, label) in zip(axes[0], panels, strict=True):
        for name, line in _lines(table):
            method = line["method"].iloc[0]
            extrap = line["extrapolated"].any()
            ax.errorbar(line[col], line["hv"],
                        yerr=[line["hv"] - line["hv_low"], line["hv_high"] - line["hv"]],
                        color=colors[method], marker="o", ms=4, capsize=2, lw=1.2,
                        ls="--" if extrap else "-", mfc="white" if extrap else colors[method],
                        label=name)
            for _, r in line.iterrows():
                ax.annotate(r["setting"].replace("lambda_ref=", "").replace(", scale=", " x"),
                            (r[col], r["hv"]), fontsize=6, xytext=(3, 3),
                            textcoords="offset points")
        ax.set_xlabel(label)
        ax.set_ylabel("HV matched (held-out)")
        ax.grid(alpha=0.3)
    axes[0][0].axvline(BELOW_BASE_MARGIN, color="grey", lw=0.8, ls=":")  # the headline budget
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.suptitle("Frontiers over each method's knob (dashed, hollow: merge scale > 1)",
                 fontsize=10)
    return save_figure(fig, path)
