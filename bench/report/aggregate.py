"""From records to numbers: metrics per method and seed, then a leaderboard over seeds.

A "run" is one method and seed at its final checkpoint (earlier checkpoints feed
`bench.metrics.budget`). Every metric is computed on the training rewards and (prefix `heldout_`)
on the held-out judges, from normalised per-w means; the per-image shares from the side
files. Every metric is declared in `bench.metrics.registry`: sweep and per-scorer metrics get
intervals from a bootstrap over seeds and images together; the rest from a bootstrap over
seeds. Seeds that produced
identical numbers count once.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.metrics import control as ctl
from bench.metrics import front as metrics
from bench.metrics import resample
from bench.metrics.point import point_metrics, run_metrics
from bench.metrics.registry import bounds, is_ranked, larger_is_better, metric_columns
from bench.metrics.resample import Context, oracle_utility, replicate, sweep_metrics
from bench.metrics.run_arrays import (
    SPACES,
    Run,
    build_runs,
    names,
    same_sweep,
    single_objective_extremes,
)
from bench.metrics.stats import (
    RESAMPLES,
    SEED,
    difference_draws,
    holm_against,
    overlaps_zero,
    percentile_interval,
    summarise,
)
from bench.store.records import record_key

Record = Mapping[str, Any]
ORACLE = "oracle"
FIXED = "fixed_weight"
SWITCHING = "switching"  # the reference that mixes single-objective policies in proportion to w


def vector(rec: Record, space: str) -> np.ndarray:
    """Normalised mean scores of one cell in one space."""
    keys = names(rec, space)
    values = [rec[SPACES[space][1]][k] for k in keys]
    return metrics.normalise(values, [rec["ranges"][k] for k in keys])


def group_runs(records: Sequence[Record]) -> dict[tuple[str, int], list[Record]]:
    """Final-checkpoint records per (method, seed), in file order; a repeated cell keeps its
    last record."""
    cells: dict[tuple, Record] = {}
    for rec in records:
        if float(rec.get("checkpoint", 1.0)) >= 1.0:
            cells[record_key(rec["method"], rec["seed"], rec["w"])] = rec
    runs: dict[tuple[str, int], list[Record]] = {}
    for (method, seed, _), rec in cells.items():
        runs.setdefault((method, seed), []).append(rec)
    return runs


def suite_ref(records: Sequence[Record]) -> np.ndarray:
    """Hypervolume reference point in normalised space: the records' `ref_point` (the
    suite's config value; `hv_ref` is read too), else the origin."""
    first = records[0]
    ref = first.get("ref_point", first.get("hv_ref"))
    return np.asarray(ref if ref is not None else np.zeros(len(first["objectives"])),
                      dtype=float)


def ideal_high(records: Sequence[Record]) -> dict[str, np.ndarray | None]:
    """Upper corner of the declared ideal box per space (the records' `ideal_box`)."""
    box = records[0].get("ideal_box") or {}
    return {s: None if box.get(s) is None else np.asarray(box[s], dtype=float)[:, 1]
            for s in SPACES}


def matched_k(runs: Sequence[Run], m: int) -> int | None:
    """Matched cardinality: the fixed-weight set's number of distinct training points (its
    grid size), else 5 for two objectives; None when neither is known."""
    fixed = [len(np.unique(r.means["train"], axis=0)) for r in runs if r.method == FIXED]
    if fixed:
        return max(fixed)
    return 5 if m == 2 else None


@dataclass
class Analysis:
    """Everything the tables need: per-run numbers, bootstrap replicates and counts."""

    per_run: pd.DataFrame
    replicates: dict[str, dict[str, Any]]  # method -> {"seeds": [...], metric: (S, B)}
    ref: np.ndarray
    k: int | None
    counts: dict[str, int] = field(default_factory=dict)
    oracle: dict[str, Any] | None = None
    samples_per_w: list[int] = field(default_factory=list)
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)  # per-w image shares
    context: Context | None = None


def cell_shares(run: Run) -> list[dict[str, Any]]:
    """Per interior w of a run with side files: its held-out and training blend / neither
    shares and the number of images behind them."""
    if run.samples is None:
        return []
    rows = [{"method": run.method, "seed": run.seed, "w": tuple(float(x) for x in w),
             "n": run.n_samples} for w in run.ws]
    for space, prefix in (("train", ""), ("heldout", "heldout_")):
        blend, neither = ctl.shares(run.ws, metrics.normalise(run.samples[space], run.ranges[space]))
        for row, b, n in zip(rows, blend, neither, strict=True):
            row[prefix + "blend"], row[prefix + "neither"] = b, n
    return [r for r, inner in zip(rows, ctl.interior(run.ws), strict=True) if inner]


def _quiet_nan(fn, *args, **kwargs):
    """Run numpy reductions where an all-NaN slice is expected (n/a metrics)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def _oracle_context(oracle_records: Sequence[Record], suite_dir, b: int,
                    rng: np.random.Generator):
    runs, _ = build_runs(oracle_records, suite_dir)
    runs = [r for r in runs if r.method == ORACLE] or runs
    if not runs:
        return None, None
    info = {"seeds": sorted({r.seed for r in runs}), "runs": len(runs),
            "passes": max((r.passes() or 0) for r in runs)}
    return _quiet_nan(oracle_utility, runs, b, rng), info


def analyse(records: Sequence[Record], suite_dir: str | Path | None = None,
            ref_point: Sequence[float] | None = None,
            oracle_records: Sequence[Record] | None = None, resamples: int = RESAMPLES,
            oracle_dir: str | Path | None = None, k: int | None = None) -> Analysis:
    """Per-run metrics and their bootstrap replicates.

    `suite_dir` locates per-sample side files; `ref_point` overrides the records' reference
    point; `oracle_records` (default: the records' own method "oracle") give per-w regret;
    `k` fixes the matched cardinality (default: `matched_k` of these records' runs).
    """
    rng = np.random.default_rng(SEED)
    ref = suite_ref(records) if ref_point is None else np.asarray(ref_point, dtype=float)
    inside = [r for r in records if r["method"] == ORACLE]
    oracle_src = list(oracle_records) if oracle_records else inside
    oracle, oracle_info = (_oracle_context(oracle_src, oracle_dir if oracle_records else
                                           suite_dir, resamples, rng)
                           if oracle_src else (None, None))
    # the oracle is the yardstick, not a row; a suite of the oracle alone reports it as a row
    others = [r for r in records if r["method"] != ORACLE]
    all_runs, nan_cells = build_runs(others or list(records), suite_dir)
    m = len(records[0]["objectives"])
    ctx = Context(ref, matched_k(all_runs, m) if k is None else k, ideal_high(records), oracle)
    grid = np.unique(np.concatenate([r.ws for r in all_runs]), axis=0)
    context = {s: (metrics.merged_front([r.means[s] for r in all_runs]),
                   single_objective_extremes(all_runs, s)) for s in SPACES}
    rows, reps, shares = [], {}, []
    kept: dict[str, list[Run]] = {}
    for run in all_runs:
        twin = next((k for k in kept.get(run.method, []) if same_sweep(k, run)), None)
        row: dict[str, Any] = {"method": run.method, "seed": run.seed,
                               "n_cells": len(run.records), "n_samples": run.n_samples,
                               "w_dependent": run.w_dependent,
                               "same_as_seed": None if twin is None else twin.seed}
        adh = resample.adherence_of(run, suite_dir)
        observed = {**_quiet_nan(sweep_metrics, run, *replicate(run, 0), ctx, True),
                    **resample.adherence_metrics(run, adh)}
        row.update({k: None if np.isnan(v[0]) else float(v[0]) for k, v in observed.items()})
        row.update(point_metrics(run, grid, context))
        row.update(run_metrics(run))
        rows.append(row)
        if twin is not None:
            continue
        kept.setdefault(run.method, []).append(run)
        shares += cell_shares(run)
        drawn = {**_quiet_nan(sweep_metrics, run, *replicate(run, resamples), ctx, False),
                 **_quiet_nan(resample.adherence_metrics, run, adh, resamples)}
        entry = reps.setdefault(run.method, {"seeds": []})
        entry["seeds"].append(run.seed)
        for name, v in drawn.items():
            entry.setdefault(name, []).append(np.broadcast_to(v, (resamples,)))
    for entry in reps.values():
        for name in list(entry):
            if name != "seeds":
                entry[name] = np.stack(entry[name])
    expected = (len({r.method for r in all_runs}) * len({r.seed for r in all_runs})
                * len(grid))
    recorded = sum(len(r.records) for r in all_runs) + nan_cells
    counts = {"cells": recorded, "nan_cells": nan_cells,
              "missing_cells": max(expected - recorded, 0),
              "runs_without_samples": sum(r.samples is None for r in all_runs),
              "runs": len(all_runs)}
    per_run = pd.DataFrame(rows)
    if oracle_info is not None:
        oracle_info["utility"] = {s: float(np.nanmean(list(oracle[s][0].values())))
                                  for s in SPACES}
    return Analysis(per_run, reps, ref, ctx.k, counts, oracle_info,
                    sorted({r.n_samples for r in all_runs if r.n_samples}), pd.DataFrame(shares),
                    ctx)


def per_run_table(records: Sequence[Record], suite_dir: str | Path | None = None,
                  ref_point: Sequence[float] | None = None) -> pd.DataFrame:
    """One row per method and seed with every metric (NaN where n/a)."""
    return analyse(records, suite_dir, ref_point, resamples=1).per_run


def _tied_best(board: pd.DataFrame, col: str, reps: Mapping[str, Mapping[str, Any]],
               per_run: pd.DataFrame) -> list[bool]:
    """Per method: True when it cannot be told apart from the best mean: the paired t-test
    over common seeds against the best, Holm-corrected over the methods compared, does not
    reject at 5% (with fewer than two common seeds: the 95% interval of the difference
    contains 0); none when the column has fewer than two distinct values."""
    values = pd.to_numeric(board[col], errors="coerce")
    if values.dropna().nunique() < 2 or not is_ranked(col):
        return [False] * len(board)
    larger = larger_is_better(col)
    best = board["method"].iloc[int(values.idxmax() if larger else values.idxmin())]

    def seeds_of(method: str) -> tuple[np.ndarray, list[int]]:
        group = per_run[(per_run["method"] == method) & per_run["same_as_seed"].isna()]
        return (pd.to_numeric(group[col], errors="coerce").to_numpy(dtype=float),
                list(group["seed"]))

    def draws_of(method: str) -> tuple[np.ndarray, list[int]]:
        entry = reps.get(method, {})
        if col in entry:
            return entry[col], entry["seeds"]
        vals, seeds = seeds_of(method)
        return vals[:, None], seeds

    ranked = [m for m, v in zip(board["method"], values, strict=True) if not pd.isna(v)]
    adjusted = holm_against({m: seeds_of(m) for m in ranked}, best)
    bx, bxs = draws_of(best)
    out = []
    for method, value in zip(board["method"], values, strict=True):
        if pd.isna(value):
            out.append(False)
        elif method == best:
            out.append(True)
        elif adjusted.get(method) is not None:
            out.append(adjusted[method] >= 0.05)
        else:
            x, xs = draws_of(method)
            out.append(overlaps_zero(_quiet_nan(difference_draws, x, xs, bx, bxs),
                                     float(value - values[board["method"] == best].iloc[0])))
    return out


def leaderboard(per_run: pd.DataFrame, replicates: Mapping[str, Mapping[str, Any]] | None = None,
                ref: Sequence[float] | None = None) -> pd.DataFrame:
    """One row per method: each metric's mean over distinct seeds, 95% interval (bootstrap
    over seeds and, where `replicates` hold them, images; clipped to the metric's range),
    seeds' min-max, and `<col>_best`: cannot be told apart from the best mean."""
    reps = replicates or {}
    distinct = per_run[per_run["same_as_seed"].isna()] if "same_as_seed" in per_run else per_run
    ref_arr = np.zeros(1) if ref is None else np.asarray(ref, dtype=float)
    rows, cols = [], [*metric_columns(), *resample.adherence_columns(per_run.columns)]
    for method, group in distinct.groupby("method", sort=False):
        n_all = int((per_run["method"] == method).sum())
        row: dict[str, Any] = {"method": method, "n_seeds": n_all,
                               "n_distinct_seeds": len(group),
                               "w_dependent": bool(group["w_dependent"].all())}
        for col in cols:
            values = [None if pd.isna(v) else float(v) for v in group.get(col, [])]
            s = summarise(values, bounds(col, ref_arr),
                          reps.get(method, {}).get(col))
            for suffix, attr in (("", "mean"), ("_ci_low", "ci_low"), ("_ci_high", "ci_high"),
                                 ("_min", "min"), ("_max", "max")):
                row[col + suffix] = None if s is None else getattr(s, attr)
        rows.append(row)
    board = pd.DataFrame(rows)
    best = {f"{col}_best": _tied_best(board, col, reps, distinct) for col in cols if col in board}
    board = pd.concat([board, pd.DataFrame(best, index=board.index)], axis=1)
    if len(board):
        board["control"] = control_labels(board, reps)
    return board


def control_labels(board: pd.DataFrame, reps: Mapping[str, Mapping[str, Any]],
                   col: str = "heldout_blend") -> list[str | None]:
    """How a method's control works. 'static': one model at every w. With the switching
    reference present: 'blends' when the method's blend share is above the reference's
    (difference interval above 0), else 'switch-like'. Without it: 'switch-like' when more
    images at interior w show one style only than show every asked-for style."""
    out: list[str | None] = []
    ref = reps.get(SWITCHING, {})
    for _, row in board.iterrows():
        blend = row.get(col)
        if not row["w_dependent"]:
            out.append("static")
        elif row["method"] == SWITCHING:
            out.append("switching (reference)")
        elif blend is None or pd.isna(blend):
            out.append(None)
        elif col in ref and col in reps.get(row["method"], {}):
            mine = reps[row["method"]]
            ref_mean = board.loc[board["method"] == SWITCHING, col]
            low = percentile_interval(_quiet_nan(difference_draws, mine[col], mine["seeds"],
                                                 ref[col], ref["seeds"]),
                                      estimate=float(blend - ref_mean.iloc[0]))
            out.append("blends" if low is not None and low[0] > 0 else "switch-like")
        else:
            one = row.get(col.replace("blend", "one_style"))
            out.append("switch-like" if one is not None and one > blend else "blends")
    return out
