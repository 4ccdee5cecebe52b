"""Plots built from records: Pareto plot, scaling with the number of objectives, training
curves, curves over budget and reward versus drift. Image figures (slider strips, simplex grid) live in `bench.report.image_figures`.

All functions draw with the Agg backend, save one PNG and return its path.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from bench.metrics.resample import BELOW_BASE_MARGIN
from bench.report.aggregate import SPACES, group_runs
from bench.store.files import atomic_save

Record = Mapping[str, Any]


def save_figure(fig: plt.Figure, path: str | Path) -> Path:
    """Save a figure as PNG, creating its folder, and free it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight"))
    plt.close(fig)
    return path


def mean_points(records: Sequence[Record], space: str) -> pd.DataFrame:
    """Raw mean score per (method, w) over seeds, with `w_dependent`; one column per scorer."""
    names_key, values_key = SPACES[space]
    rows = []
    for (method, seed), recs in group_runs(records).items():
        for r in recs:
            row = {"method": method, "seed": seed, "w": tuple(float(x) for x in r["w"]),
                   "w_dependent": bool(r.get("w_dependent", True))}
            row.update({k: float(r[values_key][k]) for k in r[names_key]})
            rows.append(row)
    df = pd.DataFrame(rows)
    scorers = list(records[0][names_key])
    return (df.groupby(["method", "w"], sort=False)
            .agg({**{k: "mean" for k in scorers}, "w_dependent": "all"}).reset_index())


def _draw_pair(ax: plt.Axes, pts: pd.DataFrame, x: str, y: str, colors: dict,
               curves: bool) -> None:
    """One panel: w-dependent methods as curves labelled with w_0 (as clouds of points when
    the grid is not a line), static ones as single square points."""
    for method, group in pts.groupby("method", sort=False):
        color = colors[method]
        if not group["w_dependent"].all():
            ax.scatter(group[x].mean(), group[y].mean(), marker="s", s=60, color=color,
                       label=method, zorder=3)
            continue
        if not curves:
            ax.scatter(group[x], group[y], s=18, color=color, label=method, zorder=2)
            continue
        group = group.sort_values("w", key=lambda s: s.map(lambda w: w[0]))
        bold = method == "paretoslider"  # the method the suite is about stands out
        ax.plot(group[x], group[y], "o-", color=color, label=method, zorder=3 if bold else 2,
                linewidth=2.5 if bold else 1.5)
        for _, row in group.iterrows():
            ax.annotate(f"{row['w'][0]:.2g}", (row[x], row[y]), fontsize=7, color=color,
                        xytext=(3, 3), textcoords="offset points")


def pareto_plot(records: Sequence[Record], path: str | Path, space: str = "heldout"
                ) -> Path:
    """Pareto plot in the paper's style: scorers on the axes (held-out judges by default),
    w-dependent methods as connected curves labelled with w_0, static methods as points.
    More than two objectives give one panel per pair."""
    pts = mean_points(records, space)
    scorers = list(records[0][SPACES[space][0]])
    pairs = list(itertools.combinations(scorers, 2))
    n = max(pts["method"].nunique(), 1)
    palette = sns.color_palette("tab10" if n <= 10 else "tab20", n_colors=n)  # no repeats
    colors = dict(zip(pts["method"].unique(), palette, strict=False))
    fig, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4.5), squeeze=False)
    flagged = below_base_cells(records)
    for ax, (x, y) in zip(axes[0], pairs, strict=True):
        _draw_pair(ax, pts, x, y, colors, curves=len(scorers) == 2)
        _mark_below_base(ax, pts, x, y, flagged)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(alpha=0.3)
    if len(scorers) == 2:
        _draw_checkpoints(axes[0][0], records, space, scorers, colors)
    axes[0][0].legend(fontsize=8)
    label = "held-out judges" if space == "heldout" else "training rewards"
    hint = "; labels: w of the x-axis objective" if len(scorers) == 2 else ""
    fig.suptitle(f"{records[0].get('suite', '')}: mean scores per w ({label}){hint}",
                 fontsize=9)
    return save_figure(fig, path)


def adherence_drop(rec: Record) -> float | None:
    """A cell's largest loss of adherence against the base model on the same prompts and
    noise, over its adherence scorers (None where the record holds no base adherence)."""
    base, judges = rec.get("base_adherence") or {}, rec.get("judges") or {}
    drops = [float(b) - float(judges[k]) for k, b in base.items()
             if b is not None and judges.get(k) is not None]
    return max(drops) if drops else None


def below_base_cells(records: Sequence[Record]) -> set[tuple[str, tuple[float, ...]]]:
    """(method, w) whose adherence, mean over seeds, is more than BELOW_BASE_MARGIN below the
    base model's by at least one adherence scorer."""
    found: dict[tuple[str, tuple[float, ...], str], list[float]] = {}
    for (method, _), recs in group_runs(records).items():
        for r in recs:
            judges = r.get("judges") or {}
            for k, b in (r.get("base_adherence") or {}).items():
                if b is not None and judges.get(k) is not None:
                    key = (method, tuple(float(x) for x in r["w"]), k)
                    found.setdefault(key, []).append(float(b) - float(judges[k]))
    return {(m, w) for (m, w, _), d in found.items() if np.mean(d) > BELOW_BASE_MARGIN}


def _mark_below_base(ax: plt.Axes, pts: pd.DataFrame, x: str, y: str,
                     flagged: set[tuple[str, tuple[float, ...]]]) -> None:
    """Red rings on the points whose adherence fell below the base model's (a static method:
    its one point)."""
    label = f"adherence < base - {BELOW_BASE_MARGIN}"
    for method, group in pts.groupby("method", sort=False):
        hit = group[[(method, w) in flagged for w in group["w"]]]
        if hit.empty:
            continue
        if not group["w_dependent"].all():
            hit = group[[x, y]].mean().to_frame().T
        ax.scatter(hit[x], hit[y], s=150, facecolors="none", edgecolors="red", linewidths=1.3,
                   zorder=4, label=label)
        label = None  # one legend entry


def _draw_checkpoints(ax: plt.Axes, records: Sequence[Record], space: str,
                      scorers: Sequence[str], colors: dict) -> None:
    """Static methods' earlier checkpoints as hollow points labelled method@fraction."""
    early = [r for r in records if float(r.get("checkpoint", 1.0)) < 1.0
             and not r.get("w_dependent", True)]
    values_key = SPACES[space][1]
    groups: dict[tuple[str, float], list[Record]] = {}
    for r in early:
        groups.setdefault((r["method"], float(r["checkpoint"])), []).append(r)
    for (method, ckpt), recs in sorted(groups.items()):
        x = sum(float(r[values_key][scorers[0]]) for r in recs) / len(recs)
        y = sum(float(r[values_key][scorers[1]]) for r in recs) / len(recs)
        color = colors.get(method, "grey")
        ax.scatter(x, y, marker="s", s=40, facecolors="none", edgecolors=color, zorder=3)
        ax.annotate(f"{method}@{ckpt:.2g}", (x, y), fontsize=7, color=color, xytext=(3, -9),
                    textcoords="offset points")


def budget_curves(curve: pd.DataFrame, path: str | Path) -> Path:
    """Held-out HV and regret against denoiser passes, one line per method (mean over seeds
    at each checkpoint, seeds as faint points)."""
    panels = [("heldout_hv", "HV (held-out)"), ("heldout_regret_mean", "mean regret (held-out)")]
    panels = [p for p in panels if curve[p[0]].notna().any()]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (col, label) in zip(axes[0], panels, strict=True):
        for method, group in curve.groupby("method", sort=False):
            mean = group.groupby("checkpoint")[["passes", col]].mean().sort_values("passes")
            line, = ax.plot(mean["passes"], mean[col], "o-", label=method)
            ax.scatter(group["passes"], group[col], s=8, alpha=0.3, color=line.get_color())
        ax.set_xlabel("denoiser passes")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return save_figure(fig, path)


def reward_vs_drift(per_run: pd.DataFrame, path: str | Path) -> Path | None:
    """Mean held-out scalarised reward (CU) and held-out HV against drift from the base
    model: how much of a method's reward comes with moving away from the base model."""
    data = per_run.dropna(subset=["drift"])
    if data.empty:
        return None
    panels = [("heldout_cu", "mean held-out w.r (CU)"), ("heldout_hv", "HV (held-out)")]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), squeeze=False)
    for ax, (col, label) in zip(axes[0], panels, strict=True):
        for method, group in data.groupby("method", sort=False):
            g = group.dropna(subset=[col])
            if g.empty:
                continue
            dot = ax.scatter(g["drift"], g[col], s=10, alpha=0.35)
            x, y = g["drift"].mean(), g[col].mean()
            ax.scatter(x, y, s=50, color=dot.get_facecolor()[0][:3], label=method)
            ax.annotate(method, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("drift from the base model (RMS image distance)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return save_figure(fig, path)


SCALING_PANELS = (("heldout_hv_norm", "normalised HV (held-out)"),
                  ("heldout_spearman", "Spearman (held-out judges)"),
                  ("passes", "training passes (denoiser fwd + bwd)"))


# with a known front (the target sets): regret and HV ratio against the truth, R2, control
TRUTH_PANELS = (("regret_true_mean", "regret against the true optimum (held-out, mean over w)"),
                ("hv_ratio", "HV ratio to the true front (held-out)"),
                ("r2", "R2, Tchebycheff (held-out; lower is better)"),
                ("heldout_spearman", "Spearman (held-out judges)"))


def scaling_plot(boards: Mapping[int, pd.DataFrame], path: str | Path,
                 panels: Sequence[tuple[str, str]] = SCALING_PANELS) -> Path:
    """Metrics versus the number of objectives M, one line per method.

    `boards` maps M to that suite's leaderboard (as written to leaderboard.csv). Where the
    board has `<col>_ci_low` / `<col>_ci_high`, the interval is drawn as error bars. Panels
    whose column no leaderboard has are drawn empty with a note.
    """
    rows = [b.assign(M=m) for m, b in sorted(boards.items())]
    data = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (col, label) in zip(axes[0], panels, strict=True):
        if col not in data or pd.to_numeric(data[col], errors="coerce").isna().all():
            ax.text(0.5, 0.5, "n/a", ha="center", transform=ax.transAxes)
        else:
            for method, group in data.groupby("method", sort=False):
                g = group.assign(v=pd.to_numeric(group[col], errors="coerce")).dropna(
                    subset=["v"]).sort_values("M")
                lo, hi = f"{col}_ci_low", f"{col}_ci_high"
                if lo in g and hi in g:
                    err = np.abs(np.vstack([g["v"] - pd.to_numeric(g[lo], errors="coerce"),
                                            pd.to_numeric(g[hi], errors="coerce") - g["v"]]))
                    ax.errorbar(g["M"], g["v"], yerr=np.nan_to_num(err), fmt="o-",
                                capsize=3, label=method)
                else:
                    ax.plot(g["M"], g["v"], "o-", label=method)
            ax.legend(fontsize=7)
        ax.set_xlabel("number of objectives M")
        ax.set_ylabel(label)
        if ("hv" in col and "ratio" not in col and len(data)
                and pd.to_numeric(data.get(col), errors="coerce").gt(0).all()):
            ax.set_yscale("log")  # volumes shrink by orders of magnitude with M
        ax.grid(alpha=0.3)
        if len(data):
            ax.set_xticks(sorted(data["M"].unique()))
    fig.tight_layout()
    return save_figure(fig, path)


def training_curves(logs: Mapping[tuple[str, int], Sequence[Mapping[str, float]]],
                    path: str | Path) -> Path | None:
    """Mean training reward per epoch, one panel per reward, one line per method (mean over
    seeds, each seed faint behind it). None if the logs hold no reward."""
    frames = [pd.DataFrame(rows).assign(method=m, seed=s) for (m, s), rows in logs.items()]
    if not frames:
        return None
    data = pd.concat(frames, ignore_index=True)
    rewards = [c for c in data.columns if c not in ("epoch", "method", "seed")]
    if not rewards:
        return None
    fig, axes = plt.subplots(1, len(rewards), figsize=(4.5 * len(rewards), 3.6), squeeze=False)
    palette = sns.color_palette("tab10", n_colors=data["method"].nunique())
    for ax, reward in zip(axes[0], rewards, strict=True):
        for color, (method, group) in zip(palette, data.groupby("method", sort=False),
                                          strict=True):
            for _, seed_rows in group.groupby("seed"):
                ax.plot(seed_rows["epoch"], seed_rows[reward], color=color, alpha=0.25, lw=0.8)
            mean = group.groupby("epoch")[reward].mean()
            ax.plot(mean.index, mean.values, color=color, label=method)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"mean {reward}")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return save_figure(fig, path)

