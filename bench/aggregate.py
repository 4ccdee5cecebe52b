"""From records to numbers: metrics per method and seed, then a leaderboard over seeds.

A "run" is one method and seed: its records are the cells of the evaluation sweep. Every
metric is computed twice, on the training rewards and (prefix `heldout_`) on the held-out
judges, from normalised per-w means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import controllability as ctl
from bench import metrics
from bench.records import record_key
from bench.sidefiles import load_sample_values
from bench.stats import summarise

Record = Mapping[str, Any]
SPACES = {"train": ("objectives", "rewards"), "heldout": ("heldout", "judges")}
FRONT_METRICS = ("hv", "hv_norm", "eum", "cu", "cu_gap", "igd_plus", "cardinality",
                 "spearman", "monotonicity", "range", "largest_jump", "blend")
QUALITY = ("adherence", "diversity", "drift")
# CSV column -> key of the record's "cost" dict; cost is the run's total, repeated per cell.
COST = {"train_images": "images", "forward_passes": "forward_passes",
        "backward_passes": "backward_passes", "optimizer_steps": "optimizer_steps",
        "wall_s": "wall_s", "models_trained": "models_trained", "checkpoints": "checkpoints",
        "checkpoint_bytes": "checkpoint_bytes", "slider_change_cost": "slider_change_cost"}


def metric_columns() -> list[str]:
    """Every per-run metric name, in leaderboard order."""
    return [*FRONT_METRICS, *(f"heldout_{m}" for m in FRONT_METRICS), *QUALITY, *COST]


def names(rec: Record, space: str) -> list[str]:
    """Scorer names of a space ("train" or "heldout"), in w's order."""
    return list(rec[SPACES[space][0]])


def vector(rec: Record, space: str) -> np.ndarray:
    """Normalised mean scores of one cell in one space."""
    keys = names(rec, space)
    values = [rec[SPACES[space][1]][k] for k in keys]
    return metrics.normalise(values, [rec["ranges"][k] for k in keys])


def group_runs(records: Sequence[Record]) -> dict[tuple[str, int], list[Record]]:
    """Records per (method, seed), in file order; a repeated cell keeps its last record."""
    cells: dict[tuple, Record] = {}
    for rec in records:
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


def single_objective_extremes(runs: Mapping[tuple[str, int], Sequence[Record]],
                              space: str) -> np.ndarray | None:
    """(M, 2) low/high r_m over the w-dependent methods' one-hot cells, or None if absent.

    High: the best r_m where w = e_m (optimising m alone). Low: the worst r_m where w = e_k,
    k != m (optimising something else).
    """
    cells = [r for recs in runs.values() for r in recs if r.get("w_dependent", True)]
    hot = [(int(np.argmax(r["w"])), vector(r, space)) for r in cells
           if np.isclose(max(r["w"]), 1.0)]
    if not hot:
        return None
    m_count = len(hot[0][1])
    out = np.full((m_count, 2), np.nan)
    for m in range(m_count):
        high = [v[m] for k, v in hot if k == m]
        low = [v[m] for k, v in hot if k != m]
        if not high or not low:
            return None
        out[m] = (min(low), max(high))
    return out


def _pooled(samples: Sequence[Any], idx: Sequence[int], kind: str, key: str,
            lo_hi: Sequence[float]) -> np.ndarray:
    """Normalised per-sample values of one scorer, pooled over the cells `idx`."""
    got = [getattr(samples[i], kind).get(key) for i in idx]
    got = [(np.asarray(g, dtype=float) - lo_hi[0]) / (lo_hi[1] - lo_hi[0])
           for g in got if g is not None]
    return np.concatenate(got) if got else np.zeros(0)


def blend(samples: Sequence[Any] | None, space: str, keys: Sequence[str],
          ranges: Mapping[str, Sequence[float]]) -> float | None:
    """Mean blend score over objectives: samples at the most central w against the pooled
    samples at the vertices where w_m = 0 (low) and w_m = 1 (high)."""
    if not samples:
        return None
    kind = SPACES[space][1]
    ws = np.array([c.w for c in samples])
    centre = int(np.argmin(np.linalg.norm(ws - 1.0 / ws.shape[1], axis=1)))
    vertex = np.isclose(ws.max(axis=1), 1.0)
    if vertex[centre]:
        return None
    scores = []
    for m, key in enumerate(keys):
        high = np.flatnonzero(vertex & np.isclose(ws[:, m], 1.0))
        low = np.flatnonzero(vertex & np.isclose(ws[:, m], 0.0))
        score = ctl.blend_score(_pooled(samples, [centre], kind, key, ranges[key]),
                                _pooled(samples, low, kind, key, ranges[key]),
                                _pooled(samples, high, kind, key, ranges[key]))
        if score is not None:
            scores.append(score)
    return float(np.mean(scores)) if scores else None


def run_front_metrics(recs: Sequence[Record], space: str, ref: np.ndarray, grid: np.ndarray,
                      front: np.ndarray, extremes: np.ndarray | None,
                      samples: Sequence[Any] | None = None) -> dict[str, float | None]:
    """Front, utility and controllability metrics of one run in one space."""
    ws = np.array([r["w"] for r in recs], dtype=float)
    pts = np.array([vector(r, space) for r in recs])
    dynamic = all(r.get("w_dependent", True) for r in recs)
    eum, cu = metrics.expected_utility(pts, grid), metrics.conditioned_utility(ws, pts)
    out = {"hv": metrics.hypervolume(pts, ref), "hv_norm": metrics.normalised_hypervolume(
        pts, ref), "eum": eum, "cu": cu, "cu_gap": None if eum is None or cu is None
        else eum - cu, "igd_plus": metrics.igd_plus(pts, front),
        "cardinality": float(metrics.cardinality(pts))}
    rho = [s for s in ctl.spearman(ws, pts) if s is not None] if dynamic else []
    out["spearman"] = float(np.mean(rho)) if rho else None
    out["monotonicity"] = ctl.monotonicity(ws, pts) if dynamic else None
    out["range"] = ctl.range_covered(pts, extremes) if dynamic else None
    out["largest_jump"] = ctl.largest_jump(ws, pts) if dynamic else None
    out["blend"] = (blend(samples, space, names(recs[0], space), recs[0]["ranges"])
                    if dynamic else None)
    return out


def _mean_of(recs: Sequence[Record], group: str, key: str) -> float | None:
    """Mean over cells of rec[group][key], ignoring cells without it."""
    vals = [r.get(group, {}).get(key) for r in recs]
    vals = [float(v) for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


def _cost_of(recs: Sequence[Record], key: str) -> float | None:
    """The run's total cost entry (the largest value its cells carry)."""
    vals = [float(r["cost"][key]) for r in recs if r.get("cost", {}).get(key) is not None]
    return max(vals) if vals else None


def per_run_table(records: Sequence[Record], suite_dir: str | Path | None = None,
                  ref_point: Sequence[float] | None = None) -> pd.DataFrame:
    """One row per method and seed with every metric (NaN where n/a).

    `suite_dir` locates per-sample side files (for the blend score); `ref_point` overrides
    the reference point that the records carry.
    """
    runs = group_runs(records)
    ref = suite_ref(records) if ref_point is None else np.asarray(ref_point, dtype=float)
    grid = np.unique(np.array([r["w"] for r in records], dtype=float), axis=0)
    rows = []
    context = {}
    for space in SPACES:
        pts = [np.array([vector(r, space) for r in recs]) for recs in runs.values()]
        context[space] = (metrics.merged_front(pts), single_objective_extremes(runs, space))
    for (method, seed), recs in runs.items():
        samples = load_sample_values(Path(suite_dir), method, seed) if suite_dir else None
        row: dict[str, Any] = {"method": method, "seed": seed, "n_cells": len(recs),
                               "w_dependent": all(r.get("w_dependent", True) for r in recs)}
        for space, prefix in (("train", ""), ("heldout", "heldout_")):
            front, extremes = context[space]
            found = run_front_metrics(recs, space, ref, grid, front, extremes, samples)
            row.update({prefix + k: v for k, v in found.items()})
        row.update({q: _mean_of(recs, "quality", q) for q in QUALITY})
        row.update({col: _cost_of(recs, key) for col, key in COST.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def leaderboard(per_run: pd.DataFrame) -> pd.DataFrame:
    """One row per method: each metric's mean over seeds, 95% interval and min-max."""
    rows = []
    for method, group in per_run.groupby("method", sort=False):
        row: dict[str, Any] = {"method": method, "n_seeds": len(group),
                               "w_dependent": bool(group["w_dependent"].all())}
        for col in metric_columns():
            values = [None if v is None or pd.isna(v) else float(v)
                      for v in group.get(col, [])]
            s = summarise(values)
            row[col] = None if s is None else s.mean
            row[f"{col}_ci_low"] = None if s is None else s.ci_low
            row[f"{col}_ci_high"] = None if s is None else s.ci_high
            row[f"{col}_min"] = None if s is None else s.min
            row[f"{col}_max"] = None if s is None else s.max
        rows.append(row)
    return pd.DataFrame(rows)
