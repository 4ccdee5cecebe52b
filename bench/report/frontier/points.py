"""One point per (method, setting) of a frontier suite: the parts' records, analysed alike.

A setting is the `strength` a method's records carry (its knob values, e.g. lambda_ref, and
a merge's scale). Every part is analysed with the same matched cardinality k, so HV matched
is comparable across parts, and with common random numbers, so replicate b of any two points
of one seed redraws the same image rows.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.report.aggregate import analyse
from bench.store.records import read_records
from bench.store.suite_dir import SuiteDir

HV = "heldout_hv_matched"
REFERENCE = "paretoslider"


@dataclass
class Point:
    """A method at one setting: per-seed values (S,) and their image replicates (S, B)."""

    method: str
    setting: dict[str, float]
    part: str
    seeds: list[int]
    hv: np.ndarray
    hv_reps: np.ndarray
    drop: dict[str, np.ndarray]  # adherence scorer -> worst-w drop below the base, per seed
    drop_reps: dict[str, np.ndarray]
    drift: np.ndarray
    # adherence drop below the base at the vertices (w = e_m), mean over them, per seed
    vertex_drop: dict[str, np.ndarray] | None = None

    @property
    def label(self) -> str:
        return setting_label(self.setting)

    @property
    def extrapolated(self) -> bool:
        """A merge whose change is scaled past its ingredients' (scale > 1)."""
        return self.setting.get("scale", 1.0) > 1.0 + 1e-9


def setting_label(setting: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in setting.items()) or "-"


def part_dirs(root: str | Path) -> list[Path]:
    """The folders under a frontier suite's root that hold records, in name order."""
    return sorted(p for p in Path(root).iterdir() if SuiteDir(p).records.is_file())


def _strength(records: Sequence[dict], method: str) -> dict[str, float]:
    found = {tuple(sorted((r.get("strength") or {}).items())) for r in records
             if r["method"] == method}
    if len(found) != 1:
        raise ValueError(f"{method}: records of one part disagree on its setting: {found}")
    return dict(next(iter(found)))


def part_points(part: Path, k: int, resamples: int) -> list[Point]:
    """The points of one part (one per method), final checkpoint."""
    records = [r for r in read_records(SuiteDir(part).records)
               if float(r.get("checkpoint", 1.0)) == 1.0]
    if not records:
        return []
    found = analyse(records, part, resamples=resamples, k=k)
    per_run, reps = found.per_run, found.replicates
    scorers = sorted({c.partition(":")[2] for c in per_run.columns
                      if str(c).startswith("adherence_worst:")})
    out = []
    for method, entry in reps.items():
        seeds = list(entry["seeds"])
        rows = per_run[per_run["method"] == method].set_index("seed").loc[seeds]
        drop = {s: (rows[f"base_adherence:{s}"] - rows[f"adherence_worst:{s}"]).to_numpy(float)
                for s in scorers}
        drop_reps = {s: entry[f"base_adherence:{s}"] - entry[f"adherence_worst:{s}"]
                     for s in scorers}
        out.append(Point(method, _strength(records, method), part.name, seeds,
                         rows[HV].to_numpy(float), np.asarray(entry[HV], dtype=float),
                         drop, drop_reps, rows["drift"].to_numpy(float),
                         vertex_drops(records, method, seeds, scorers)))
    return out


def vertex_drops(records: Sequence[dict], method: str, seeds: list[int],
                 scorers: Sequence[str]) -> dict[str, np.ndarray]:
    """Per scorer, per seed: the base's adherence minus the method's, averaged over the
    one-hot preferences (where a merge's scale acts on one run's change alone)."""
    out = {}
    for scorer in scorers:
        per_seed = []
        for seed in seeds:
            cells = [r for r in records if r["method"] == method and r["seed"] == seed
                     and max(r["w"]) == 1.0]
            drops = [r["base_adherence"][scorer] - r["judges"][scorer] for r in cells
                     if (r.get("base_adherence") or {}).get(scorer) is not None]
            per_seed.append(float(np.mean(drops)) if drops else np.nan)
        out[scorer] = np.array(per_seed)
    return out


def collect(root: str | Path, k: int = 5, resamples: int = 1000) -> list[Point]:
    """Every point of a frontier suite; a (method, setting) met in two parts is kept once
    (the first part's: the same runs give the same cells)."""
    seen: dict[tuple[str, str], Point] = {}
    for part in part_dirs(root):
        for p in part_points(part, k, resamples):
            seen.setdefault((p.method, p.label), p)
    return list(seen.values())


def by_method(points: Sequence[Point]) -> dict[str, list[Point]]:
    """Points grouped by method, each method's in knob order."""
    out: dict[str, list[Point]] = {}
    for p in points:
        out.setdefault(p.method, []).append(p)
    return {m: sorted(ps, key=lambda p: tuple(p.setting.values())) for m, ps in out.items()}
