"""Hand-made suites for the harness tests: records with known values plus side files."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg
import numpy as np
import pytest

from bench.store.cell_record import CellRecord
from bench.store.records import append_record

W2 = [0.0, 0.25, 0.5, 0.75, 1.0]


def make_record(method: str, seed: int, w: list[float], r: list[float], judge: list[float],
                w_dependent: bool = True, names: tuple[str, ...] = ("photo", "sketch"),
                suite: str = "two_obj") -> dict:
    """One cell with training rewards `r` and held-out judges `judge` (ranges [0, 1],
    except the second training reward whose declared range is [0, 10])."""
    held = [f"{n}_heldout" for n in names]
    ranges = {n: [0.0, 1.0] for n in (*names, *held)}
    ranges[names[1]] = [0.0, 10.0]
    rewards = dict(zip(names, r, strict=True))
    rewards[names[1]] = r[1] * 10.0
    return CellRecord(
        suite=suite, method=method, seed=seed, w=list(w), objectives=list(names),
        heldout=held, ranges=ranges, rewards={**rewards, "adherence": 0.9},
        judges=dict(zip(held, judge, strict=True)),
        quality={"adherence": 0.9 - 0.01 * seed, "diversity": 0.1, "drift": 0.05},
        w_dependent=w_dependent,
        cost={"forward_passes": 1e5, "backward_passes": 5e4, "images": 3000,
              "optimizer_steps": 40, "wall_s": 100.0 + seed,
              "models_trained": 1 if method != "fixed_weight" else 5,
              "checkpoints": 1 if method != "fixed_weight" else 5,
              "checkpoint_bytes": 2.0e6, "slider_change_cost": 0.0},
        config_hash="ab12", versions={"torch": "x"}, commit=None).to_dict()


def two_obj_records(seeds: tuple[int, ...] = (0, 1, 2)) -> list[dict]:
    """paretoslider on the quarter circle (slightly shrunk per seed), fixed_weight on the
    line r0 + r1 = 0.8, flow_multi a static point."""
    out = []
    for seed in seeds:
        shrink = 1.0 - 0.02 * seed
        for w in W2:
            angle = w * np.pi / 2
            r = [shrink * np.sin(angle), shrink * np.cos(angle)]
            out.append(make_record("paretoslider", seed, [w, 1 - w], r, [x * 0.9 for x in r]))
            lin = [0.8 * w, 0.8 * (1 - w)]
            out.append(make_record("fixed_weight", seed, [w, 1 - w], lin, lin))
            out.append(make_record("flow_multi", seed, [w, 1 - w], [0.5, 0.5], [0.45, 0.4],
                                   w_dependent=False))
    return out


def write_side_files(suite_dir: Path, records: list[dict]) -> None:
    """Image strips for paretoslider seed 0, per-sample values and a training log."""
    for i, rec in enumerate(r for r in records if r["method"] == "paretoslider"
                            and r["seed"] == 0):
        strip = np.zeros((8, 24, 3))
        strip[..., 0] = rec["w"][0]
        strip[..., 2] = rec["w"][1]
        path = suite_dir / "samples" / "paretoslider" / f"seed0_w{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        mpimg.imsave(path, strip)
    rng = np.random.default_rng(0)
    ws = np.array([[w, 1 - w] for w in W2])
    # Blends at every w: samples centred on w_0, well separated from the extremes.
    photo = np.clip(ws[:, :1] + 0.02 * rng.standard_normal((5, 16)), 0, 1)
    np.savez(suite_dir / "samples" / "paretoslider" / "seed0.npz", w=ws,
             **{"rewards/photo": photo, "rewards/sketch": 10 * (1 - photo),
                "judges/photo_heldout": photo, "judges/sketch_heldout": 1 - photo})
    logs = suite_dir / "train_logs"
    logs.mkdir(exist_ok=True)
    lines = [json.dumps({"epoch": e, "rewards": {"photo": 0.1 * e, "sketch": 1 - 0.1 * e}})
             for e in range(5)]
    (logs / "paretoslider_seed0.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture
def two_obj_suite(tmp_path: Path) -> Path:
    """A suite folder with records.jsonl and side files."""
    suite = tmp_path / "results" / "two_obj"
    records = two_obj_records()
    for rec in records:
        append_record(suite / "records.jsonl", rec)
    write_side_files(suite, records)
    return suite


def simplex_grid(h: int, m: int = 3) -> list[list[float]]:
    """All w on the simplex with entries in multiples of 1/h (Das-Dennis)."""
    if m == 1:
        return [[1.0]]
    return [[i / h, *(x * (h - i) / h for x in rest)] for i in range(h + 1)
            for rest in (simplex_grid(h - i, m - 1) if h - i else [[0.0] * (m - 1)])]


@pytest.fixture
def three_obj_suite(tmp_path: Path) -> Path:
    """A 3-objective suite: paretoslider with r = w (with strips), flow_multi static."""
    suite = tmp_path / "results" / "three_obj"
    names = ("photo", "sketch", "watercolor")
    for i, w in enumerate(simplex_grid(2)):
        rec = make_record("paretoslider", 0, w, w, w, names=names, suite="three_obj")
        rec["rewards"]["sketch"] = w[1] * 10.0
        rec["w_index"] = i
        append_record(suite / "records.jsonl", rec)
        static = make_record("flow_multi", 0, w, [0.4] * 3, [0.3] * 3, w_dependent=False,
                             names=names, suite="three_obj")
        append_record(suite / "records.jsonl", static)
        path = suite / "samples" / "paretoslider" / f"seed0_w{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        mpimg.imsave(path, np.ones((8, 16, 3)) * np.array(w))
    return suite


@pytest.fixture
def das_dennis():
    """The simplex-grid builder, for tests that need their own grids."""
    return simplex_grid
