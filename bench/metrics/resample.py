"""Headline metrics of a run, on its observed numbers and on bootstrap replicates of its
images, with one vectorised code path for both.

A replicate redraws N of the seed's N image rows (prompt and noise) with replacement, the
same rows in every cell and for every method of that seed (common random numbers: cells with
the same images get the same draw); every scorer of a drawn image moves with it. The metrics below are then recomputed from the replicate's per-w means and per-image
scores. Without a per-sample side file a run has only its observed numbers.

Prompt adherence is resampled the same way, per adherence scorer (`adherence_metrics`): mean
over w, worst w, and the share of w more than BELOW_BASE_MARGIN below the base model's
adherence on the same prompts and noise (the base's images redrawn with the cell's rows).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from bench.metrics import control as ctl
from bench.metrics import front as metrics
from bench.metrics.registry import SPACE_PREFIXES, of_level, register_metric
from bench.metrics.run_arrays import SPACES, Run, w_key
from bench.metrics.stats import common_rows
from bench.store.sidefiles import load_sample_values
from bench.store.suite_dir import SuiteDir

UTILITY = Mapping[tuple[float, ...], np.ndarray]


@dataclass
class Context:
    """What a run's metrics depend on beyond the run: reference point, matched cardinality,
    ideal-box upper corners and the oracle's per-w utility (observed and replicates)."""

    ref: np.ndarray
    k: int | None = None
    high: dict[str, np.ndarray | None] = field(default_factory=dict)
    oracle: dict[str, tuple[UTILITY, UTILITY]] | None = None  # space -> (observed, reps)


def replicate(run: Run, b: int
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """B replicates of a run: per space (B, C, M) normalised means and (B, C, N, M) raw
    per-image scores. b = 0 gives the observed run as one replicate (the record means).
    Without side files the observed numbers stand for every replicate (B = 1). Replicate b
    redraws the seed's image rows `common_rows(seed, b)`, the same rows in every cell and
    for every method of that seed."""
    if b == 0 or run.samples is None:
        raw = run.samples
        return ({s: run.means[s][None] for s in SPACES},
                None if raw is None else {s: raw[s][None] for s in SPACES})
    c, n = run.samples["train"].shape[:2]
    drawn = common_rows(run.seed, b, n)[:, None, :]  # (B, 1, N): broadcast over the cells
    cells = np.arange(c)[None, :, None]
    samples = {s: run.samples[s][cells, drawn] for s in SPACES}  # (B, C, N, M)
    means = {s: metrics.normalise(samples[s].mean(axis=2), run.ranges[s]) for s in SPACES}
    return means, samples


def _matched(run: Run, means: dict[str, np.ndarray], ctx: Context) -> dict[str, np.ndarray]:
    """HV on k distinct points chosen by greedy HV gain on TRAINING rewards; the chosen
    cells are then scored in each space. M > 2: chosen once on the observed means (the
    greedy search per replicate would cost too much there)."""
    if ctx.k is None:
        nan = np.full(len(means["train"]), np.nan)
        return {s: nan for s in SPACES}
    reps = run.representatives()
    pool = means["train"][:, reps] if run.ws.shape[1] == 2 else run.means["train"][None, reps]
    picked = metrics.greedy_subset(pool, ctx.k, ctx.ref)  # (B or 1, k), -1: none
    chosen = np.where(picked >= 0, reps[np.clip(picked, 0, None)], -1)
    chosen = np.broadcast_to(chosen, (len(means["train"]), chosen.shape[1]))
    return {s: metrics.hypervolume_batch(metrics.gather(means[s], chosen), ctx.ref)
            for s in SPACES}


def _regret(run: Run, utility: np.ndarray, ctx: Context, space: str, observed: bool
            ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and worst over w of oracle utility minus the run's, w.r on the same w."""
    b = len(utility)
    if ctx.oracle is None or space not in ctx.oracle:
        return np.full(b, np.nan), np.full(b, np.nan)
    table = ctx.oracle[space][0 if observed else 1]
    cols = [np.atleast_1d(np.asarray(table.get(w_key(w), np.nan), dtype=float)) for w in run.ws]
    b = max(b, *(len(c) for c in cols))
    regret = np.stack([np.broadcast_to(c, (b,)) for c in cols], axis=1) - utility
    if np.all(np.isnan(regret)):
        return np.full(b, np.nan), np.full(b, np.nan)
    return np.nanmean(regret, axis=1), np.nanmax(regret, axis=1)


@dataclass
class SweepView:
    """What a sweep metric reads: one run's B replicates in one space, and the values that
    several metrics share (computed once, on first use)."""

    run: Run
    space: str
    means: dict[str, np.ndarray]             # every space's (B, C, M) normalised means
    samples: dict[str, np.ndarray] | None    # every space's (B, C, N, M) raw scores, or None
    ctx: Context
    observed: bool
    shared: dict = field(default_factory=dict)  # across the spaces of one replicate set

    @property
    def r(self) -> np.ndarray:
        return self.means[self.space]

    @property
    def nan(self) -> np.ndarray:
        return np.full(len(self.r), np.nan)

    @cached_property
    def utility(self) -> np.ndarray:
        """(B, C) w.r of every cell."""
        return np.sum(self.run.ws[None] * self.r, axis=2)

    @cached_property
    def shares(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(B,) blend and neither shares over interior w; None without per-image scores."""
        inner = ctl.interior(self.run.ws)
        if self.samples is None or not np.any(inner):
            return None
        unit = metrics.normalise(self.samples[self.space], self.run.ranges[self.space])
        blend, neither = ctl.shares(self.run.ws, unit)
        return blend[:, inner].mean(axis=1), neither[:, inner].mean(axis=1)

    @cached_property
    def regret(self) -> tuple[np.ndarray, np.ndarray]:
        return _regret(self.run, self.utility, self.ctx, self.space, self.observed)

    def matched(self) -> np.ndarray:
        if "matched" not in self.shared:  # the pick is made once, on training rewards
            self.shared["matched"] = _matched(self.run, self.means, self.ctx)
        return self.shared["matched"][self.space]


def sweep_metrics(run: Run, means: dict[str, np.ndarray], samples: dict[str, np.ndarray] | None,
                  ctx: Context, observed: bool) -> dict[str, np.ndarray]:
    """Every sweep metric per space (key prefix "heldout_" for the judges) for each
    replicate: name -> (B,) array, NaN where the metric is undefined for the run."""
    out: dict[str, np.ndarray] = {}
    shared: dict = {}
    for space, prefix in zip(SPACES, SPACE_PREFIXES, strict=True):
        view = SweepView(run, space, means, samples, ctx, observed, shared)
        for metric in of_level("sweep"):
            value = metric.fn(view)
            out[prefix + metric.name] = (view.nan if value is None
                                         else np.asarray(value, dtype=float))
    return out


# ---------------------------------------------------------------- the built-in sweep metrics
def _box(ref: np.ndarray) -> tuple[float, float]:
    return 0.0, float(np.prod(1.0 - ref))


@register_metric("hv", "HV", "sweep", bounds=_box, order=2)
def hv(v: SweepView) -> np.ndarray:
    return metrics.hypervolume_batch(v.r, v.ctx.ref)


@register_metric("hv_norm", "HV norm", "sweep", order=3)
def hv_norm(v: SweepView) -> np.ndarray | None:
    """HV inside the ideal box [ref, high] over the box's volume."""
    high = v.ctx.high.get(v.space)
    box = metrics.ideal_box_volume(v.ctx.ref, high)
    if box <= 0:
        return None
    inside = hv(v) if high is None else metrics.hypervolume_batch(np.minimum(v.r, high),
                                                                    v.ctx.ref)
    return inside / box


@register_metric("hv_matched", "HV matched", "sweep", bounds=_box, order=1)
def hv_matched(v: SweepView) -> np.ndarray:
    return v.matched()


@register_metric("cu", "CU", "sweep", order=5)
def cu(v: SweepView) -> np.ndarray:
    return v.utility.mean(axis=1)


@register_metric("spearman", "Spearman", "sweep", bounds=(-1.0, 1.0), order=10)
def spearman(v: SweepView) -> np.ndarray | None:
    return ctl.spearman_batch(v.run.ws, v.r) if v.run.w_dependent else None


@register_metric("monotonicity", "Monotonicity", "sweep", order=11)
def monotonicity(v: SweepView) -> np.ndarray | None:
    return ctl.monotonicity_batch(v.run.ws, v.r) if v.run.w_dependent else None


@register_metric("blend", "Blend", "sweep", order=14)
def blend(v: SweepView) -> np.ndarray | None:
    return None if v.shares is None else v.shares[0]


@register_metric("neither", "Neither", "sweep", higher_is_better=False, order=15)
def neither(v: SweepView) -> np.ndarray | None:
    return None if v.shares is None else v.shares[1]


@register_metric("one_style", "One style", "sweep", higher_is_better=None, order=16)
def one_style(v: SweepView) -> np.ndarray | None:
    return None if v.shares is None else 1.0 - v.shares[0] - v.shares[1]


@register_metric("regret_mean", "Regret mean", "sweep", higher_is_better=False,
                 bounds=(-1.0, 1.0), order=8)
def regret_mean(v: SweepView) -> np.ndarray:
    return v.regret[0]


@register_metric("regret_worst", "Regret worst", "sweep", higher_is_better=False,
                 bounds=(-1.0, 1.0), order=9)
def regret_worst(v: SweepView) -> np.ndarray:
    return v.regret[1]


def oracle_utility(runs: list[Run], b: int, rng: np.random.Generator
                   ) -> dict[str, tuple[UTILITY, UTILITY]]:
    """Per space and w: the oracle's w.r, mean over its seeds, observed and as B replicates
    of the bootstrap over its seeds and images."""
    out = {}
    keys = sorted({w_key(w) for run in runs for w in run.ws})
    reps = [replicate(run, b) for run in runs]
    for space in SPACES:
        point = np.full((len(runs), len(keys)), np.nan)
        draws = np.full((len(runs), b, len(keys)), np.nan)
        for i, (run, (means, _)) in enumerate(zip(runs, reps, strict=True)):
            cols = [keys.index(w_key(w)) for w in run.ws]
            point[i, cols] = np.sum(run.ws * run.means[space], axis=1)
            draws[i][:, cols] = np.sum(run.ws[None] * means[space], axis=2)
        pick = rng.integers(0, len(runs), size=(b, len(runs)))
        boot = np.nanmean(draws[pick, np.arange(b)[:, None]], axis=1)  # (B, keys)
        observed = dict(zip(keys, np.nanmean(point, axis=0), strict=True))
        out[space] = (observed, {k: boot[:, j] for j, k in enumerate(keys)})
    return out


# ---------------------------------------------------------------- prompt adherence
BELOW_BASE_MARGIN = 0.05  # the allowance for lost adherence: also the frontier's headline budget


def adherence_columns(columns: Iterable[str]) -> list[str]:
    """The per-scorer adherence columns (`<metric>:<scorer>`) among `columns`."""
    stems = {m.name for m in of_level("scorer")}
    return [c for c in columns if isinstance(c, str) and c.partition(":")[0] in stems
            and c.partition(":")[2]]


@dataclass
class Adherence:
    """A run's adherence scores: cell means (C, A) and the base's (A,) from its records, and
    per-image scores (C, N, A) and the base's (N, A) where its side file holds them."""

    names: list[str]
    means: np.ndarray
    base: np.ndarray
    samples: np.ndarray | None = None
    base_samples: np.ndarray | None = None


def _side_base(suite_dir: Path, method: str, seed: int) -> dict:
    path = SuiteDir(suite_dir).sample_values(method, seed)
    try:
        return json.loads(path.read_text()).get("base") or {}
    except (OSError, ValueError, AttributeError):
        return {}


def adherence_of(run: Run, suite_dir: str | Path | None = None) -> Adherence | None:
    """The run's adherence scorers (judges that are no held-out twin) that every cell holds."""
    first = run.records[0]
    names = [k for k in first.get("judges", {}) if k not in first.get("heldout", [])
             and all((r.get("judges") or {}).get(k) is not None for r in run.records)]
    if not names:
        return None
    means = np.array([[float(r["judges"][k]) for k in names] for r in run.records])
    given = [r.get("base_adherence") or {} for r in run.records]
    base = np.array([next((float(g[k]) for g in given if g.get(k) is not None), np.nan)
                     for k in names])
    out = Adherence(names, means, base)
    if suite_dir is None:
        return out
    cells = {w_key(c.w): c for c in load_sample_values(Path(suite_dir), run.method, run.seed)
             or []}
    side = _side_base(Path(suite_dir), run.method, run.seed)
    try:
        per = [np.stack([cells[w_key(r["w"])].judges[k] for k in names], axis=-1)
               for r in run.records]
        base_samples = np.stack([np.asarray(side[k], dtype=float) for k in names], axis=-1)
        samples = np.stack(per)
    except (KeyError, ValueError):  # side file absent, older than a scorer, or ragged
        return out
    if samples.shape[1:] == base_samples.shape:
        out.samples, out.base_samples = samples, base_samples
    return out


def adherence_metrics(run: Run, adh: Adherence | None, b: int = 0) -> dict[str, np.ndarray]:
    """`<metric>:<scorer>` -> (B,) values: observed (b = 0, or without per-image scores: B = 1)
    or B replicates that redraw the seed's common image rows, and the base's on the same rows."""
    if adh is None:
        return {}
    if b == 0 or adh.samples is None:
        cells, base = adh.means[None], np.broadcast_to(adh.base, adh.means.shape)[None]
        own_base = adh.base[None]
    else:
        n = adh.samples.shape[1]
        drawn = np.broadcast_to(common_rows(run.seed, b, n)[:, None, :], (b, len(run.records), n))
        cells = adh.samples[np.arange(len(run.records))[None, :, None], drawn].mean(axis=2)
        base = adh.base_samples[drawn].mean(axis=2)  # (B, C, A), paired with each cell
        own_base = adh.base_samples[drawn[:, 0]].mean(axis=1)
    draw = AdherenceDraw(cells, base, own_base)
    return {f"{metric.name}:{name}": np.asarray(metric.fn(draw), dtype=float)[:, j]
            for metric in of_level("scorer") for j, name in enumerate(adh.names)}


@dataclass
class AdherenceDraw:
    """What a per-scorer metric reads: (B, C, A) cell adherence, the base's on each cell's
    rows (B, C, A), and the base's own (B, A); B replicates, A scorers."""

    cells: np.ndarray
    base: np.ndarray
    own_base: np.ndarray


# ------------------------------------------------ the built-in per-scorer adherence metrics
@register_metric("adherence", "Mean", "scorer")
def adherence_mean(d: AdherenceDraw) -> np.ndarray:
    return d.cells.mean(axis=1)


@register_metric("adherence_worst", "Worst w", "scorer")
def adherence_worst(d: AdherenceDraw) -> np.ndarray:
    """The lowest per-w mean: adherence at the method's worst preference."""
    return d.cells.min(axis=1)


@register_metric("below_base", "Below base", "scorer", higher_is_better=False)
def below_base(d: AdherenceDraw) -> np.ndarray:
    """Share of w more than BELOW_BASE_MARGIN below the base model on the same rows."""
    below = np.where(np.isnan(d.base), np.nan, d.cells < d.base - BELOW_BASE_MARGIN)
    return below.mean(axis=1)


@register_metric("base_adherence", "Base", "scorer", higher_is_better=None)
def base_adherence(d: AdherenceDraw) -> np.ndarray:
    return d.own_base
