"""Records and side files of one method and seed, as arrays ready for metrics.

A run is the sweep of one (method, seed, checkpoint): one cell per w, with normalised mean
scores per space ("train": training rewards, "heldout": held-out judges) and, where the
per-sample side file covers every cell, the raw per-image scores. Cells that hold the same
images (a fixed-weight model serving several w, a static method) form one "class": they are
one distinct point of the front and are resampled together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.metrics import front as metrics
from bench.store.sidefiles import SampleCell, load_sample_values

Record = Mapping[str, Any]
SPACES = {"train": ("objectives", "rewards"), "heldout": ("heldout", "judges")}
KEY_DIGITS = 6


def w_key(w: Sequence[float]) -> tuple[float, ...]:
    """A preference as a dictionary key (rounded like the records' keys)."""
    return tuple(round(float(x), KEY_DIGITS) for x in w)


def checkpoint_of(rec: Record) -> float:
    """Budget fraction at which a record's weights were taken (absent: the final 1.0)."""
    return float(rec.get("checkpoint", 1.0))


def names(rec: Record, space: str) -> list[str]:
    """Scorer names of a space, in w's order."""
    return list(rec[SPACES[space][0]])


def raw_vector(rec: Record, space: str) -> np.ndarray:
    """Raw mean scores of one cell in one space (NaN where a score is missing)."""
    values = rec.get(SPACES[space][1], {})
    return np.array([np.nan if values.get(k) is None else float(values[k])
                     for k in names(rec, space)], dtype=float)


def ranges_of(rec: Record, space: str) -> np.ndarray:
    """(M, 2) declared ranges of a space's scorers."""
    return np.array([rec["ranges"][k] for k in names(rec, space)], dtype=float)


def has_nan(rec: Record) -> bool:
    """True when a cell's training or held-out score is missing or not finite."""
    return any(not np.all(np.isfinite(raw_vector(rec, s))) for s in SPACES)


@dataclass
class Run:
    """One method, seed and checkpoint: its sweep as arrays."""

    method: str
    seed: int
    checkpoint: float
    records: list[Record]
    ws: np.ndarray                       # (C, M)
    means: dict[str, np.ndarray]         # space -> (C, M) normalised means
    ranges: dict[str, np.ndarray]        # space -> (M, 2)
    samples: dict[str, np.ndarray] | None = None  # space -> (C, N, M) raw per-image scores
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    nan_cells: int = 0

    @property
    def w_dependent(self) -> bool:
        return all(r.get("w_dependent", True) for r in self.records)

    @property
    def n_samples(self) -> int | None:
        return None if self.samples is None else self.samples["train"].shape[1]

    def representatives(self) -> np.ndarray:
        """First cell of each class: one per distinct point."""
        return np.unique(self.classes, return_index=True)[1]

    def passes(self) -> float | None:
        """Denoiser passes at this checkpoint: the record's `passes`, else the cost's
        forward + backward passes."""
        vals = [r.get("passes") for r in self.records if r.get("passes") is not None]
        if vals:
            return float(max(vals))
        cost = [r.get("cost", {}) for r in self.records]
        tot = [float(c.get("forward_passes", 0)) + float(c.get("backward_passes", 0))
               for c in cost if c.get("forward_passes") is not None]
        return max(tot) if tot else None


def _cell_samples(cells: Sequence[SampleCell], recs: Sequence[Record]
                  ) -> dict[str, np.ndarray] | None:
    """(C, N, M) raw per-image scores per space for the records' cells, or None unless the
    side file holds every cell with the same N for every scorer."""
    by_w = {w_key(c.w): c for c in cells}  # a repeated cell keeps its last entry
    out: dict[str, list[np.ndarray]] = {s: [] for s in SPACES}
    for rec in recs:
        cell = by_w.get(w_key(rec["w"]))
        if cell is None:
            return None
        for space in SPACES:
            kind = getattr(cell, SPACES[space][1])
            cols = [kind.get(k) for k in names(rec, space)]
            if any(c is None for c in cols) or len({len(c) for c in cols}) != 1:
                return None
            out[space].append(np.stack(cols, axis=-1))
    if len({a.shape for a in out["train"] + out["heldout"]}) != 1 or not out["train"]:
        return None
    return {s: np.stack(v) for s, v in out.items()}


def _classes(means: dict[str, np.ndarray], samples: dict[str, np.ndarray] | None
             ) -> np.ndarray:
    """Class id per cell: cells with identical per-image scores (else identical means)."""
    source = samples if samples is not None else means
    keys = [b"".join(np.ascontiguousarray(source[s][c]).tobytes() for s in SPACES)
            for c in range(len(means["train"]))]
    first: dict[bytes, int] = {}
    return np.array([first.setdefault(k, len(first)) for k in keys], dtype=int)


def build_run(method: str, seed: int, checkpoint: float, recs: Sequence[Record],
              cells: Sequence[SampleCell] | None) -> Run | None:
    """A Run from its records (cells with a NaN score are left out and counted); None if no
    cell is left."""
    good = [r for r in recs if not has_nan(r)]
    if not good:
        return None
    good = sorted(good, key=lambda r: tuple(r["w"]))
    ws = np.array([r["w"] for r in good], dtype=float)
    ranges = {s: ranges_of(good[0], s) for s in SPACES}
    means = {s: np.array([metrics.normalise(raw_vector(r, s), ranges[s]) for r in good])
             for s in SPACES}
    samples = _cell_samples(cells, good) if cells else None
    return Run(method, seed, checkpoint, good, ws, means, ranges, samples,
               _classes(means, samples), nan_cells=len(recs) - len(good))


def group_cells(records: Sequence[Record]) -> dict[tuple[str, int, float], list[Record]]:
    """Records per (method, seed, checkpoint); a repeated cell keeps its last record."""
    cells: dict[tuple, Record] = {}
    for rec in records:
        cells[(rec["method"], int(rec["seed"]), checkpoint_of(rec), w_key(rec["w"]))] = rec
    out: dict[tuple[str, int, float], list[Record]] = {}
    for (method, seed, ckpt, _), rec in cells.items():
        out.setdefault((method, seed, ckpt), []).append(rec)
    return out


def build_runs(records: Sequence[Record], suite_dir: str | Path | None = None,
               final: bool = True) -> tuple[list[Run], int]:
    """Runs of the final checkpoint (`final`) or of the earlier ones; per-sample side files
    (final checkpoint only) are read from `suite_dir`. Returns (runs, NaN cells left out)."""
    runs, nan_cells = [], 0
    for (method, seed, ckpt), recs in group_cells(records).items():
        if (ckpt >= 1.0) != final:
            continue
        cells = (load_sample_values(Path(suite_dir), method, seed)
                 if suite_dir is not None and final else None)
        run = build_run(method, seed, ckpt, recs, cells)
        nan_cells += len(recs) if run is None else run.nan_cells
        if run is not None:
            runs.append(run)
    return runs, nan_cells


def same_sweep(a: Run, b: Run) -> bool:
    """True when two runs produced identical numbers at identical w (e.g. seeds that share
    evaluation noise and need no training): they are one observation, not two."""
    return (a.ws.shape == b.ws.shape and np.array_equal(a.ws, b.ws)
            and all(np.array_equal(a.means[s], b.means[s]) for s in SPACES)
            and (a.samples is None) == (b.samples is None)
            and (a.samples is None or all(np.array_equal(a.samples[s], b.samples[s])
                                          for s in SPACES)))


def single_objective_extremes(runs: Sequence[Run], space: str) -> np.ndarray | None:
    """(M, 2) low/high r_m over the w-dependent runs' one-hot cells, or None if absent.

    High: the best r_m where w = e_m (optimising m alone). Low: the worst r_m where w = e_k,
    k != m (optimising something else).
    """
    hot = [(int(np.argmax(w)), r) for run in runs if run.w_dependent
           for w, r in zip(run.ws, run.means[space], strict=True) if np.isclose(w.max(), 1.0)]
    if not hot:
        return None
    out = np.full((len(hot[0][1]), 2), np.nan)
    for m in range(len(out)):
        high = [v[m] for k, v in hot if k == m]
        low = [v[m] for k, v in hot if k != m]
        if not high or not low:
            return None
        out[m] = (min(low), max(high))
    return out
