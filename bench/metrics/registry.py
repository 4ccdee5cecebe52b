"""Every metric of the leaderboard, declared once: name, label, level, direction and bounds.

A metric is a function registered with `register_metric`; the leaderboard's columns, which
end of each is better, the range its intervals are clipped to, and the tables' headers are
all read from here. Levels say what a metric is computed on and how its interval is drawn:

- "sweep": one run's sweep in one space (`bench.metrics.resample.SweepView`, B replicates at once);
  a column per space (`heldout_` prefix for the judges); bootstrap over seeds and images.
- "point": one run's per-w means in one space (`bench.metrics.point.PointView`); a column
  per space; bootstrap over seeds.
- "run": one run, once (`bench.metrics.run_arrays.Run`): quality and cost; bootstrap over seeds.
- "scorer": one run's adherence to each adherence scorer (`bench.metrics.resample.Adherence`); a
  column `<name>:<scorer>` per scorer; bootstrap over seeds and images.

The built-in metrics are registered by `bench.metrics.resample` (sweep, scorer) and
`bench.metrics.point` (point, run; it imports the former, so importing it registers all).
Installed packages add metrics through the entry-point group `paretoslider_bench.metrics`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from paretoslider.registry import Registry

LEVELS = ("sweep", "point", "run", "scorer")
SPACE_PREFIXES = ("", "heldout_")  # training rewards, held-out judges
Bounds = tuple[float, float] | Callable[[np.ndarray], tuple[float, float]]


@dataclass(frozen=True)
class Metric:
    """One leaderboard metric. `fn` takes the level's view and returns its value: for
    "sweep" a (B,) array, for "scorer" a (B, A) array (one column per scorer), else a float;
    None (or NaN) where the metric is undefined for the run."""

    name: str
    label: str                       # table header
    level: str
    higher_is_better: bool | None    # None: descriptive, no end is better (never bold)
    bounds: Bounds                   # possible values, or ref point -> them (clips intervals)
    fn: Callable[..., Any]
    count: bool = False              # whole numbers: thousands separators, no interval
    table: bool = True               # False: in the CSV only, not in the Markdown/LaTeX tables
    order: float = math.inf          # position in the full tables (ties: registration order)

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"metric {self.name!r}: level {self.level!r} not in {LEVELS}")

    @property
    def key(self) -> str:
        """The registry name: the column stem, `<name>:<scorer>` for per-scorer metrics."""
        return f"{self.name}:<scorer>" if self.level == "scorer" else self.name

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)

    def range(self, ref: np.ndarray) -> tuple[float, float]:
        return self.bounds(ref) if callable(self.bounds) else self.bounds


METRICS: Registry[Metric] = Registry("metric")


def register_metric(name: str, label: str, level: str, higher_is_better: bool | None = True,
                    bounds: Bounds = (0.0, 1.0), count: bool = False, table: bool = True,
                    order: float = math.inf) -> Callable:
    """Decorator: register the function as the metric `name` (see `Metric`). The decorated
    name becomes the `Metric` (still callable), so an entry point can name it."""
    def add(fn: Callable) -> Metric:
        metric = Metric(name, label, level, higher_is_better, bounds, fn, count, table, order)
        return METRICS.register(metric.key)(metric)

    return add


def of_level(level: str) -> list[Metric]:
    """The metrics of one level, in registration order (plug-ins after built-ins)."""
    return [m for m in METRICS.values() if m.level == level]


def metric_for(col: str) -> Metric | None:
    """The metric behind a column (`heldout_hv`, `below_base:adherence_shape`), or None."""
    stem, sep, _ = col.removeprefix("heldout_").partition(":")
    key = f"{stem}:<scorer>" if sep else stem
    return METRICS.get(key) if key in METRICS else None


def front_metrics() -> tuple[str, ...]:
    """The per-space metric names: sweep metrics, then point metrics."""
    return tuple(m.name for level in ("sweep", "point") for m in of_level(level))


def metric_columns() -> list[str]:
    """Every per-run metric column but the per-scorer ones, in leaderboard order."""
    front = front_metrics()
    return [*front, *(f"heldout_{m}" for m in front), *(m.name for m in of_level("run"))]


def larger_is_better(col: str) -> bool:
    """False only for a metric declared lower-is-better (an unknown column counts as larger)."""
    metric = metric_for(col)
    return metric is None or metric.higher_is_better is not False


def is_ranked(col: str) -> bool:
    """Whether one end of the column is better (descriptive metrics are never bold)."""
    metric = metric_for(col)
    return metric is None or metric.higher_is_better is not None


def bounds(col: str, ref: np.ndarray) -> tuple[float, float] | None:
    """The possible values of a column's metric, to clip its intervals ((0, 1) if unknown)."""
    metric = metric_for(col)
    return (0.0, 1.0) if metric is None else metric.range(ref)


def label(col: str) -> str:
    """A column's table header (the metric's label; the column itself if unknown)."""
    metric = metric_for(col)
    return col if metric is None else metric.label


def table_columns(levels: Sequence[str], prefix: str = "") -> list[tuple[str, str]]:
    """(column, header) of the tabled metrics of these levels, in table order."""
    shown = [m for level in levels for m in of_level(level) if m.table]
    shown.sort(key=lambda m: m.order)  # stable: ties keep registration order
    return [(prefix + m.name, m.label) for m in shown]


def counts() -> set[str]:
    """Columns printed as whole numbers."""
    return {m.name for m in METRICS.values() if m.count}
