"""The contract of a registered metric: run `check_metric(name)` on a metric of your own; the
project's tests run it on every built-in one (`tests/bench/test_metric_registry.py`).

A metric declares a label, a level, a direction (or None: descriptive) and bounds lo < hi;
on random fronts (two and three objectives, seeded) every value it returns is None, NaN or
inside its bounds, with the shape its level asks for. Raises AssertionError naming what broke.
"""
from __future__ import annotations

import numpy as np

from bench.metrics.point import PointView
from bench.metrics.registry import LEVELS, METRICS, Metric
from bench.metrics.resample import AdherenceDraw, Context, SweepView, oracle_utility, replicate
from bench.metrics.run_arrays import SPACES, Run, single_objective_extremes
from paretoslider.preferences import eval_grid

SLACK = 1e-9


def random_run(rng: np.random.Generator, m: int, seed: int = 0, method: str = "random",
               n: int = 6) -> Run:
    """A w-dependent run on the evaluation grid of M objectives: per-image scores uniform in
    [0, 1] (declared ranges [0, 1]), random cost and quality in every cell."""
    ws = np.asarray(eval_grid(m, 5 if m == 2 else 3), dtype=float)
    samples = {s: rng.uniform(size=(len(ws), n, m)) for s in SPACES}
    cost = {"forward_passes": float(rng.integers(1, 10**6)), "images": 10.0, "wall_s": 1.0}
    records = [{"w": list(w), "w_dependent": True, "cost": cost,
                "quality": {"adherence": rng.uniform(), "diversity": rng.uniform(),
                            "drift": rng.uniform()}} for w in ws]
    return Run(method, seed, 1.0, records, ws, {s: v.mean(axis=1) for s, v in samples.items()},
               {s: np.tile([0.0, 1.0], (m, 1)) for s in SPACES}, samples,
               np.arange(len(ws)))


def _values(metric: Metric, rng: np.random.Generator, ref: np.ndarray) -> list[tuple]:
    """(value, what produced it, expected shape) on a few random runs: shape an int for B
    replicates, a tuple for per-scorer arrays, None for one number."""
    m = len(ref)
    runs = [random_run(rng, m, seed) for seed in range(3)]
    oracle = oracle_utility([random_run(rng, m, 9, "oracle")], 4, rng)
    ctx = Context(ref, 3, {"train": None, "heldout": rng.uniform(0.8, 1.0, size=m)}, oracle)
    grid = runs[0].ws
    out = []
    for run in runs:
        where = f"M={m} seed {run.seed}"
        if metric.level == "sweep":
            for b, observed in ((0, True), (4, False)):
                means, samples = replicate(run, b)
                shared: dict = {}
                for space in SPACES:
                    value = metric.fn(SweepView(run, space, means, samples, ctx, observed, shared))
                    out.append((value, f"{where} {space} B={max(b, 1)}", max(b, 1)))
        elif metric.level == "point":
            for space in SPACES:
                front = np.vstack([r.means[space] for r in runs])
                view = PointView(run, space, grid, front, single_objective_extremes(runs, space))
                out.append((metric.fn(view), f"{where} {space}", None))
        elif metric.level == "run":
            out.append((metric.fn(run), where, None))
        else:
            cells = rng.uniform(size=(4, len(run.ws), 2))
            draw = AdherenceDraw(cells, rng.uniform(size=cells.shape), rng.uniform(size=(4, 2)))
            out.append((metric.fn(draw), f"{where} 2 scorers", (4, 2)))
    return out


def check_metric(name: str, seed: int = 0) -> None:
    """Check the registered metric `name` (its registry key: `<name>:<scorer>` for a
    per-scorer metric) against its contract."""
    metric = METRICS.get(name)
    assert isinstance(metric, Metric), f"{name}: registered {type(metric).__name__}, not a Metric"
    assert isinstance(metric.label, str) and metric.label, f"{name}: no label"
    assert metric.level in LEVELS, f"{name}: level {metric.level!r} not in {LEVELS}"
    assert metric.higher_is_better in (True, False, None), f"{name}: direction not declared"
    rng = np.random.default_rng(seed)
    for m in (2, 3):
        ref = rng.uniform(0.0, 0.2, size=m)
        lo, hi = metric.range(ref)
        assert lo < hi, f"{name}: bounds ({lo}, {hi}) must have lo < hi"
        for value, where, shape in _values(metric, rng, ref):
            if value is None:
                continue
            v = np.asarray(value, dtype=float)
            if isinstance(shape, int):
                assert v.shape == (shape,), f"{name}: shape {v.shape} for {shape} replicates " \
                    f"({where})"
            elif shape is not None:
                assert v.shape == shape, f"{name}: shape {v.shape}, expected {shape}"
            else:
                assert v.ndim == 0, f"{name}: {v.shape} where one number is expected ({where})"
            ok = v[~np.isnan(v)]  # NaN: undefined for this run
            assert np.all(ok >= lo - SLACK) and np.all(ok <= hi + SLACK), (
                f"{name}: {ok.min():.4g}..{ok.max():.4g} leaves its bounds ({lo}, {hi}) "
                f"({where})")
