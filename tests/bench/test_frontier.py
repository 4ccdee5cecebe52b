"""The frontier: Holm and t bounds against their formulas, common random numbers, the pick
at an adherence budget on hand-made points, and the smoke frontier through the command line."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench.metrics.resample import replicate
from bench.metrics.run_arrays import Run
from bench.metrics.stats import common_rows, holm, paired_t_pvalue, t_upper_bound
from bench.report.frontier.choice import budget_table
from bench.report.frontier.points import Point

ROOT = Path(__file__).resolve().parents[2]


def test_holm_step_down_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01, 2 x 0.03, max(0.06, 1 x 0.04); None is left out
    assert holm([0.01, 0.04, None, 0.03]) == pytest.approx([0.03, 0.06, None, 0.06])
    assert holm([0.5, 0.9]) == [1.0, 1.0]


def test_paired_t_and_upper_bound_match_their_formulas():
    x, y = np.array([0.3, 0.5, 0.4, 0.6, 0.2]), np.array([0.1, 0.45, 0.2, 0.3, 0.25])
    d = x - y
    t = d.mean() / (d.std(ddof=1) / np.sqrt(5))
    assert paired_t_pvalue(x, y) == pytest.approx(2 * sps.t.sf(abs(t), 4))
    assert paired_t_pvalue(x, x) == 1.0
    assert t_upper_bound(d) == pytest.approx(d.mean() + sps.t.ppf(0.95, 4) * d.std(ddof=1)
                                             / np.sqrt(5))


def _run(method: str, seed: int, samples: np.ndarray) -> Run:
    c = samples.shape[0]
    ranges = np.array([[0.0, 1.0], [0.0, 1.0]])
    return Run(method, seed, 1.0, [{}] * c, np.zeros((c, 2)),
               {s: samples.mean(axis=1) for s in ("train", "heldout")},
               {s: ranges for s in ("train", "heldout")},
               {s: samples for s in ("train", "heldout")}, np.arange(c))


def test_replicates_share_image_rows_within_a_seed():
    rng = np.random.default_rng(3)
    a, b = rng.random((4, 16, 2)), rng.random((4, 16, 2))
    (ma, _), (mb, _) = replicate(_run("x", 2, a), 50), replicate(_run("y", 2, b), 50)
    rows = common_rows(2, 50, 16)
    np.testing.assert_allclose(ma["train"], a[:, rows].mean(axis=2).transpose(1, 0, 2))
    np.testing.assert_allclose(mb["train"], b[:, rows].mean(axis=2).transpose(1, 0, 2))
    # another seed draws other rows
    assert not np.array_equal(common_rows(3, 50, 16), rows)


def _point(method: str, hv: list[float], drop: list[float], setting: dict, b: int = 200,
           noise: float = 0.0) -> Point:
    rng = np.random.default_rng(len(method) + int(10 * sum(setting.values())))
    hv_a, drop_a = np.array(hv), np.array(drop)
    reps = lambda v: v[:, None] + noise * rng.standard_normal((len(v), b))
    return Point(method, setting, "part", list(range(len(hv))), hv_a, reps(hv_a),
                 {"adh": drop_a}, {"adh": reps(drop_a)}, np.zeros(len(hv)))


def test_pick_is_the_best_admissible_setting():
    seeds5 = [0.0] * 5
    methods = {
        "paretoslider": [_point("paretoslider", [0.20] * 5, seeds5, {"lambda_ref": 1.0}),
                         _point("paretoslider", [0.30] * 5, [0.08] * 5, {"lambda_ref": 0.3})],
        "fixed_weight": [_point("fixed_weight", [0.25, 0.26, 0.24, 0.25, 0.25], seeds5,
                                {"lambda_ref": 1.0})],
    }
    table = budget_table(methods, "adh", deltas=(0.05, 0.10)).set_index(["delta", "method"])
    assert table.loc[(0.05, "paretoslider"), "setting"] == "lambda_ref=1"
    assert table.loc[(0.10, "paretoslider"), "setting"] == "lambda_ref=0.3"
    assert table.loc[(0.05, "paretoslider"), "hv"] == pytest.approx(0.20)
    # constant replicates: every resample picks the same, the interval has no width
    assert table.loc[(0.05, "paretoslider"), "pick_share"] == 1.0
    assert table.loc[(0.05, "paretoslider"), "hv_low"] == pytest.approx(0.20)
    assert table.loc[(0.05, "fixed_weight"), "diff"] == pytest.approx(0.05)
    assert table.loc[(0.05, "fixed_weight"), "pi"] == 1.0
    assert table.loc[(0.05, "fixed_weight"), "tied_best"]
    assert not table.loc[(0.05, "paretoslider"), "tied_best"]  # 0.05 below in every seed
    assert table.loc[(0.10, "fixed_weight"), "diff"] == pytest.approx(-0.05)


def test_the_pick_is_redone_in_each_resample():
    # a setting whose drop straddles the budget across seeds is admitted in some resamples
    methods = {"paretoslider": [
        _point("paretoslider", [0.2] * 5, [0.0] * 5, {"lambda_ref": 1.0}),
        _point("paretoslider", [0.3] * 5, [0.0, 0.08, 0.01, 0.06, 0.0], {"lambda_ref": 0.3})]}
    row = budget_table(methods, "adh", deltas=(0.06,)).iloc[0]
    assert row["setting"] == "lambda_ref=1"  # observed UB of 0.3's drop: 0.066
    assert 0.0 < row["pick_share"] < 1.0
    assert row["hv_high"] > 0.2  # resamples that admit the better setting widen the interval


def test_no_admissible_setting_gives_no_value():
    methods = {"paretoslider": [_point("paretoslider", [0.3] * 5, [0.2] * 5,
                                       {"lambda_ref": 0.1})]}
    row = budget_table(methods, "adh", deltas=(0.05,)).iloc[0]
    assert row["setting"] is None and pd.isna(row["hv"]) and row["admissible_share"] == 0.0


@pytest.fixture(scope="module")
def smoke_frontier(tmp_path_factory):
    out = tmp_path_factory.mktemp("frontier")
    cmd = [sys.executable, "-m", "bench.run", "suite=smoke_frontier",
           f"results_dir={out / 'res'}", f"cache_dir={out / 'cache'}", "workers=2"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return out / "res" / "smoke_frontier", done.stdout


def test_smoke_frontier_end_to_end(smoke_frontier):
    root, stdout = smoke_frontier
    # the merge-scale part trains nothing: its runs come from the shared cache group
    assert "suite lambda_ref_1.0_scale_2" in stdout
    scale_part = stdout.split("suite lambda_ref_1.0_scale_2")[1]
    assert "to do: 0 training runs (4 already finished)" in scale_part
    rows = list(csv.DictReader((root / "frontier.csv").open()))
    got = {(r["method"], r["setting"]): r for r in rows}
    assert set(got) == {("paretoslider", "lambda_ref=0.1"), ("paretoslider", "lambda_ref=1"),
                        ("fixed_weight", "lambda_ref=0.1"), ("fixed_weight", "lambda_ref=1"),
                        ("merging_linear", "lambda_ref=0.1, scale=1"),
                        ("merging_linear", "lambda_ref=1, scale=1"),
                        ("merging_linear", "lambda_ref=1, scale=2")}
    assert got[("merging_linear", "lambda_ref=1, scale=2")]["extrapolated"] == "True"
    assert got[("merging_linear", "lambda_ref=1, scale=1")]["extrapolated"] == "False"
    assert all(r["seeds"] == "2" for r in rows)
    for line in (root / "lambda_ref_0.1" / "records.jsonl").read_text().splitlines():
        rec = json.loads(line)
        want = {"lambda_ref": 0.1, **({"scale": 1.0} if rec["method"] == "merging_linear" else {})}
        assert rec["strength"] == want
    assert (root / "figures" / "frontier.png").stat().st_size > 10_000
    assert "method_options" in (root / "chosen.yaml").read_text()


def test_frontier_report_rebuilds_the_same_tables(smoke_frontier):
    root, _ = smoke_frontier
    before = {n: (root / n).read_bytes() for n in ("frontier.csv", "budget.csv", "frontier.md")}
    done = subprocess.run([sys.executable, "-m", "bench.report", "suite=smoke_frontier",
                           f"results_dir={root.parent}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert {n: (root / n).read_bytes() for n in before} == before
