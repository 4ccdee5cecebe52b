"""The built-in metrics that only the per-seed numbers get (no per-image bootstrap): point
metrics of a run's per-w means in one space, and the run's quality and cost.

Importing this module registers every built-in metric (it imports `bench.metrics.resample`, which
registers the sweep and per-scorer ones); see `bench.metrics.registry`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from bench.metrics import control as ctl
from bench.metrics import front as metrics
from bench.metrics import resample as _sweep_metrics  # noqa: F401  (registers the sweep metrics first)
from bench.metrics.registry import SPACE_PREFIXES, of_level, register_metric
from bench.metrics.run_arrays import SPACES, Record, Run

UNBOUNDED = (0.0, np.inf)


@dataclass
class PointView:
    """What a point metric reads: one run's (C, M) normalised per-w means in one space, the
    evaluation grid, the suite's merged front and the single-objective extremes."""

    run: Run
    space: str
    grid: np.ndarray
    front: np.ndarray
    extremes: np.ndarray | None

    @property
    def points(self) -> np.ndarray:
        return self.run.means[self.space]

    @cached_property
    def eum(self) -> float | None:
        return metrics.expected_utility(self.points, self.grid)


def point_metrics(run: Run, grid: np.ndarray, context: dict[str, tuple]
                  ) -> dict[str, float | None]:
    """Every point metric per space (prefix "heldout_" for the judges); `context` holds per
    space the merged front and the single-objective extremes."""
    out: dict[str, float | None] = {}
    for space, prefix in zip(SPACES, SPACE_PREFIXES, strict=True):
        view = PointView(run, space, grid, *context[space])
        out.update({prefix + m.name: m.fn(view) for m in of_level("point")})
    return out


def run_metrics(run: Run) -> dict[str, float | None]:
    """Every per-run metric (quality, cost)."""
    return {m.name: m.fn(run) for m in of_level("run")}


# ---------------------------------------------------------------- point metrics
@register_metric("eum", "EUM", "point", order=4)
def eum(v: PointView) -> float | None:
    return v.eum


@register_metric("cu_gap", "EUM-CU", "point", higher_is_better=False, bounds=(-1.0, 1.0),
                 order=6)
def cu_gap(v: PointView) -> float | None:
    """EUM - CU: utility the slider leaves on the table by not delivering, at w, the best
    trade-off it reaches somewhere else."""
    cu = metrics.conditioned_utility(v.run.ws, v.points)
    return None if v.eum is None or cu is None else v.eum - cu


@register_metric("igd_plus", "IGD+", "point", higher_is_better=False, bounds=UNBOUNDED,
                 order=7)
def igd_plus(v: PointView) -> float | None:
    return metrics.igd_plus(v.points, v.front)


@register_metric("cardinality", "Cardinality", "point", higher_is_better=None,
                 bounds=(1.0, np.inf), count=True, table=False)
def cardinality(v: PointView) -> float:
    return float(metrics.cardinality(v.points))


@register_metric("range", "Range", "point", bounds=UNBOUNDED, order=12)
def range_covered(v: PointView) -> float | None:
    return ctl.range_covered(v.points, v.extremes) if v.run.w_dependent else None


@register_metric("jump_ratio", "Jump/range", "point", higher_is_better=False, order=13)
def jump_ratio(v: PointView) -> float | None:
    return ctl.jump_ratio(v.run.ws, v.points) if v.run.w_dependent else None


# ---------------------------------------------------------------- quality
def mean_of(recs: Sequence[Record], group: str, key: str) -> float | None:
    """Mean over the cells of `record[group][key]` (None where no cell has it)."""
    vals = [r.get(group, {}).get(key) for r in recs]
    vals = [float(v) for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


@register_metric("adherence", "Adherence", "run")
def adherence(run: Run) -> float | None:
    return mean_of(run.records, "quality", "adherence")


@register_metric("diversity", "Diversity", "run", bounds=UNBOUNDED)
def diversity(run: Run) -> float | None:
    return mean_of(run.records, "quality", "diversity")


@register_metric("drift", "Drift", "run", higher_is_better=False, bounds=UNBOUNDED)
def drift(run: Run) -> float | None:
    return mean_of(run.records, "quality", "drift")


# ---------------------------------------------------------------- cost
def cost_of(run: Run, key: str) -> float | None:
    """The run's total cost entry `record["cost"][key]` (the largest value its cells carry:
    the total is repeated per cell)."""
    vals = [float(r["cost"][key]) for r in run.records if r.get("cost", {}).get(key) is not None]
    return max(vals) if vals else None


def _cost(name: str, label: str, key: str, count: bool = True, table: bool = True) -> None:
    register_metric(name, label, "run", higher_is_better=False, bounds=UNBOUNDED, count=count,
                    table=table)(lambda run: cost_of(run, key))


@register_metric("passes", "Passes", "run", higher_is_better=False, bounds=UNBOUNDED,
                 count=True)
def passes(run: Run) -> float | None:
    return run.passes()


_cost("train_images", "Images", "images")
_cost("forward_passes", "Fwd passes", "forward_passes")
_cost("backward_passes", "Bwd passes", "backward_passes")
_cost("optimizer_steps", "Optimizer steps", "optimizer_steps", table=False)
_cost("wall_s", "Wall s", "wall_s", count=False)
_cost("models_trained", "Models", "models_trained")
_cost("checkpoints", "Checkpoints", "checkpoints")
_cost("checkpoint_bytes", "Ckpt bytes", "checkpoint_bytes")
_cost("slider_change_cost", "Slider change cost", "slider_change_cost", count=False)
