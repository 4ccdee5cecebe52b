"""Known answers of the analysis on hand-made records: per-image shares, matched HV,
regret against an oracle, ties with the best, identical seeds, NaN cells, budget curves."""

import json

import numpy as np
import pytest

from bench.metrics import budget
from bench.metrics.paired import comparisons
from bench.report.aggregate import analyse, leaderboard
from bench.report.build import build_report
from bench.store.records import append_record

WS = [[w, 1 - w] for w in (0.0, 0.25, 0.5, 0.75, 1.0)]
RANGES = {k: [0.0, 1.0] for k in ("a", "b", "a_h", "b_h")}


def rec(method, seed, w, r, h=None, dynamic=True, **extra):
    """A cell with training rewards r and held-out judges h (default: r)."""
    h = r if h is None else h
    return {"suite": "toy", "method": method, "seed": seed, "w": list(w),
            "objectives": ["a", "b"], "heldout": ["a_h", "b_h"], "ranges": RANGES,
            "rewards": {"a": r[0], "b": r[1]}, "judges": {"a_h": h[0], "b_h": h[1]},
            "quality": {"adherence": 0.9, "diversity": 0.1, "drift": 0.2},
            "w_dependent": dynamic, "ref_point": [0.0, 0.0],
            "cost": {"forward_passes": 900, "backward_passes": 100}, **extra}


def test_regret_against_oracle_mean_and_worst():
    oracle = [rec("oracle", 0, w, [0.8 * w[0], 0.8 * w[1]]) for w in WS]
    # The method reaches the oracle except 0.1 short on both rewards at w = (0.5, 0.5).
    mine = [rec("m", 0, w, [0.8 * w[0] - 0.1 * (w[0] == 0.5), 0.8 * w[1] - 0.1 * (w[0] == 0.5)])
            for w in WS]
    found = analyse(mine, oracle_records=oracle, resamples=50).per_run.iloc[0]
    assert found["heldout_regret_worst"] == pytest.approx(0.1)  # 0.5 * 0.1 + 0.5 * 0.1
    assert found["heldout_regret_mean"] == pytest.approx(0.1 / 5)
    # The suite's own "oracle" rows serve too, and are no leaderboard row.
    inside = analyse(mine + oracle, resamples=50).per_run
    assert list(inside["method"]) == ["m"]
    assert inside["regret_mean"].iloc[0] == pytest.approx(0.02)
    assert analyse(mine, resamples=10).per_run["regret_mean"].isna().all()  # no oracle: n/a


def test_a_suite_of_the_oracle_alone_reports_it_as_a_row():
    oracle = [rec("oracle", 0, w, [0.8 * w[0], 0.8 * w[1]]) for w in WS]
    found = analyse(oracle, resamples=10).per_run
    assert list(found["method"]) == ["oracle"]
    assert found["regret_mean"].iloc[0] == pytest.approx(0.0, abs=1e-12)


def test_matched_hv_chooses_on_training_and_scores_held_out():
    fixed = [rec("fixed_weight", 0, w, [0.5, 0.5]) if 0 < w[0] < 1 else
             rec("fixed_weight", 0, w, [w[0], w[1]]) for w in WS]  # 3 distinct points
    # Training: (0.6, 0.6) is the one interior point worth choosing; held-out says otherwise.
    slider = [rec("slider", 0, [1, 0], [1.0, 0.0]), rec("slider", 0, [0, 1], [0.0, 1.0]),
              rec("slider", 0, [0.25, 0.75], [0.6, 0.6], [0.1, 0.1]),
              rec("slider", 0, [0.5, 0.5], [0.55, 0.55], [0.7, 0.7]),
              rec("slider", 0, [0.75, 0.25], [0.2, 0.2])]
    found = analyse(fixed + slider, resamples=10)
    assert found.k == 3
    row = found.per_run.set_index("method").loc["slider"]
    # Greedy on training: (0.6, 0.6) first (0.36); no other point adds training volume, so
    # none is taken (the held-out-lucky (0.55, 0.55) cell stays out).
    assert row["hv_matched"] == pytest.approx(0.36)
    assert row["heldout_hv_matched"] == pytest.approx(0.01)  # the chosen cell, held-out
    assert row["heldout_hv"] == pytest.approx(0.49)  # plain HV uses every point


def write_samples(folder, method, seed, cells):
    path = folder / "samples" / method / f"seed{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells}))


def test_blend_shares_and_switching_label_from_side_files(tmp_path):
    suite = tmp_path / "toy"
    images = {  # per w: (a, b) per image; the blender's images show both at interior w
        "blender": lambda w: [[w[0], w[1]]] * 4,
        "switching": lambda w: [[1.0, 0.0]] * round(4 * w[0]) + [[0.0, 1.0]] * round(4 * w[1]),
    }
    for method, make in images.items():
        for seed in (0, 1):
            cells = []
            for w in WS:
                pts = np.array(make(w))
                append_record(suite / "records.jsonl", rec(method, seed, w, pts.mean(0).tolist()))
                vals = {"a": pts[:, 0].tolist(), "b": pts[:, 1].tolist()}
                cells.append({"w": w, "rewards": vals,
                              "judges": {"a_h": vals["a"], "b_h": vals["b"]}})
            write_samples(suite, method, seed, cells)
    out = build_report(suite)
    board = out["leaderboard"].set_index("method")
    # Interior w: 0.25, 0.5, 0.75; every blender image reaches 0.25 on both.
    assert board.loc["blender", "heldout_blend"] == 1.0
    assert board.loc["switching", "heldout_blend"] == 0.0
    assert board.loc["switching", "heldout_neither"] == 0.0
    # Same per-w means, so mean-based control cannot tell them apart; the shares do.
    assert board.loc["switching", "heldout_spearman"] == board.loc["blender", "heldout_spearman"]
    assert board.loc["blender", "control"] == "blends"
    assert board.loc["switching", "control"] == "switching (reference)"
    # Identical seeds count once and are marked as such.
    assert (board["n_distinct_seeds"] == 1).all() and (board["n_seeds"] == 2).all()
    md = (suite / "leaderboard.md").read_text()
    assert "| blender ‡" in md and "n=4" in md
    cells = (suite / "blend_by_w.csv").read_text()
    assert cells.count("blender") == 3  # one row per interior w


def test_bold_every_method_tied_with_the_best():
    records = []
    for seed, noise in enumerate((0.0, 0.02, -0.02)):
        for w in WS:
            records += [rec("best", seed, w, [0.80 * w[0] + noise, 0.80 * w[1] + noise]),
                        rec("close", seed, w, [0.79 * w[0] + noise, 0.79 * w[1] + noise]),
                        rec("far", seed, w, [0.1 * w[0], 0.1 * w[1]])]
    found = analyse(records, resamples=200)
    board = leaderboard(found.per_run, found.replicates, found.ref).set_index("method")
    # "close" is below "best" on every seed by the same amount: the paired difference is
    # never 0, so it is told apart although the seeds overlap.
    assert board["heldout_cu_best"].to_dict() == {"best": True, "close": False, "far": False}
    # Seeds-only column (EUM) of two methods with shifted seeds only: ties are bolded.
    assert board.loc["best", "eum_best"]
    comp = comparisons(found.per_run, found.replicates, reference="best").set_index("method")
    assert comp.loc["close", "heldout_cu_p_better"] == pytest.approx(3 / 9)  # 3 wins of 9 pairs
    # CU = s * mean_w(w0^2 + w1^2) + noise = 0.75 s + noise: 0.01 apart in s.
    assert comp.loc["close", "heldout_cu_diff"] == pytest.approx(-0.0075)


def test_nan_cells_are_counted_not_hidden():
    records = [rec("m", 0, w, [w[0], w[1]]) for w in WS]
    records[2]["rewards"]["a"] = float("nan")
    found = analyse(records, resamples=10)
    assert found.counts["nan_cells"] == 1 and found.per_run["n_cells"].iloc[0] == 4


def test_budget_curves_passes_and_area():
    records = []
    for ckpt, scale in ((0.5, 0.5), (1.0, 1.0)):
        for w in WS:
            records.append(rec("m", 0, w, [scale * w[0], scale * w[1]], checkpoint=ckpt,
                               passes=int(1000 * ckpt)))
    assert budget.has_checkpoints(records)
    found = analyse(records, resamples=10)
    curve = budget.curves(records, found.context)
    table, areas = budget.summary(curve)
    assert table["passes"].tolist() == [500.0, 1000.0]
    # HV of (w, 1 - w) on the grid: 0.25 * (0.75 + 0.5 + 0.25) = 0.375; scaled by s^2.
    assert table["heldout_hv"].tolist() == pytest.approx([0.375 / 4, 0.375])
    # Trapezoid over [500, 1000] of HV, divided by the budget 1000.
    assert areas["auc_heldout_hv"].iloc[0] == pytest.approx(500 * (0.375 / 4 + 0.375) / 2 / 1000)


def test_report_with_checkpoints_draws_budget_curves(tmp_path):
    suite = tmp_path / "toy"
    for ckpt in (0.5, 1.0):
        for seed in (0, 1):
            for w in WS:
                s = ckpt * (1 - 0.01 * seed)
                for r in (rec("m", seed, w, [s * w[0], s * w[1]], checkpoint=ckpt,
                              passes=int(1000 * ckpt)),
                          rec("flow_multi", seed, w, [0.3 * ckpt, 0.3 * ckpt], dynamic=False,
                              checkpoint=ckpt, passes=int(1000 * ckpt))):
                    append_record(suite / "records.jsonl", r)
    out = build_report(suite)
    names = {p.name for p in out["figures"]}
    assert {"budget_curves.png", "reward_vs_drift.png", "pareto.png"} <= names
    md = (suite / "leaderboard.md").read_text()
    assert "## Curves over budget (held-out)" in md and "| flow_multi@0.5 | 500 |" in md
    assert "Static methods' checkpoints" in md
    # Final-checkpoint tables ignore the earlier snapshot.
    assert out["leaderboard"].set_index("method").loc["m", "passes"] == 1000
