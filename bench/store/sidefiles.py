"""Readers for the files a run saves beside records.jsonl.

Layout under a suite folder:
- `samples/<method>/seed<k>_w<i>.png`: a strip of sample images for one cell. A record may
  name its strip in `sample_png` (path relative to the suite folder) or its grid index in
  `w_index`; otherwise i is the cell's position among that method and seed's records.
- `samples/<method>/seed<k>.npz`: per-sample values, arrays `w` (C, M) and
  `rewards/<name>`, `judges/<name>` (C, N); or `seed<k>.json`:
  `{"cells": [{"w": [...], "rewards": {name: [...]}, "judges": {name: [...]}}]}`.
- `train_logs/<method>_seed<k>.jsonl`: one line per epoch, `{"epoch": e, "rewards":
  {name: mean}}` (flat `{"epoch": e, name: mean}` lines are read too).
Every reader returns None (and the caller skips its figure) when a file is missing or
unreadable; none of them raises for a missing side file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.store.suite_dir import SuiteDir

TRAIN_LOG = re.compile(r"^(?P<method>.+)_seed(?P<seed>\d+)\.jsonl$")


def note(message: str) -> None:
    """Tell the user what was skipped, without failing the report."""
    print(f"[bench.report] {message}")


@dataclass
class SampleCell:
    """Per-sample values of one cell: preference w and arrays of N values per scorer."""

    w: tuple[float, ...]
    rewards: dict[str, np.ndarray] = field(default_factory=dict)
    judges: dict[str, np.ndarray] = field(default_factory=dict)


def _cells_from_npz(path: Path) -> list[SampleCell]:
    """Parse the npz layout: `w` plus `rewards/<name>` and `judges/<name>` (C, N) arrays."""
    with np.load(path, allow_pickle=False) as data:
        ws = np.atleast_2d(data["w"])
        cells = [SampleCell(tuple(float(x) for x in w)) for w in ws]
        for key in data.files:
            kind, _, name = key.partition("/")
            if kind in ("rewards", "judges") and name:
                for cell, row in zip(cells, np.atleast_2d(data[key]), strict=True):
                    getattr(cell, kind)[name] = np.asarray(row, dtype=float)
    return cells


def _cells_from_json(path: Path) -> list[SampleCell]:
    """Parse the JSON layout: a list of cells, or {"cells": [...]}."""
    raw = json.loads(path.read_text())
    items = raw["cells"] if isinstance(raw, Mapping) else raw
    return [SampleCell(tuple(float(x) for x in c["w"]),
                       {k: np.asarray(v, dtype=float) for k, v in c.get("rewards", {}).items()},
                       {k: np.asarray(v, dtype=float) for k, v in c.get("judges", {}).items()})
            for c in items]


def load_sample_values(suite_dir: Path, method: str, seed: int) -> list[SampleCell] | None:
    """Per-sample values of one method and seed, or None if no readable side file exists."""
    folder = SuiteDir(suite_dir)
    for path, parse in ((folder.sample_values(method, seed, ".npz"), _cells_from_npz),
                        (folder.sample_values(method, seed, ".json"), _cells_from_json)):
        if path.is_file():
            try:
                return parse(path)
            except (OSError, ValueError, KeyError, TypeError) as err:
                note(f"cannot read {path}: {err}")
                return None
    return None


def strip_paths(suite_dir: Path, records: Sequence[Mapping[str, Any]]) -> list[Path | None]:
    """Sample-strip PNG of each record of ONE method and seed (None where it is missing)."""
    out: list[Path | None] = []
    for position, rec in enumerate(records):
        if rec.get("sample_png"):
            path = Path(suite_dir) / rec["sample_png"]
        else:
            i = rec.get("w_index", position)
            path = SuiteDir(suite_dir).strip(rec["method"], rec["seed"], i)
        out.append(path if path.is_file() else None)
    return out


def _epoch_row(line: Mapping[str, Any]) -> dict[str, float] | None:
    """One log line as {"epoch": e, name: value, ...}; None if it has no epoch."""
    if "epoch" not in line:
        return None
    values = line.get("rewards")
    if not isinstance(values, Mapping):
        values = {k: v for k, v in line.items() if k not in ("epoch", "step")}
    row = {"epoch": float(line["epoch"])}
    row.update({k: float(v) for k, v in values.items() if isinstance(v, (int, float))})
    return row


def load_train_logs(suite_dir: Path) -> dict[tuple[str, int], list[dict[str, float]]]:
    """All training logs of a suite keyed by (method, seed); unreadable lines are skipped."""
    folder = SuiteDir(suite_dir).train_logs
    out: dict[tuple[str, int], list[dict[str, float]]] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.jsonl")):
        match = TRAIN_LOG.match(path.name)
        if not match:
            continue
        rows = []
        for line in path.read_text().splitlines():
            try:
                row = _epoch_row(json.loads(line))
            except (ValueError, TypeError, AttributeError):
                row = None
            if row is not None:
                rows.append(row)
        if rows:
            out[(match["method"], int(match["seed"]))] = rows
    return out
