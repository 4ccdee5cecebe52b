"""Metrics against a known front on hand-made records: a run at the true optimum has no
regret and the true front's HV and R2; a run short of it has the regret it is short by."""
from __future__ import annotations

import numpy as np
import pytest

from bench.report.truth import r2, truth_section, truth_summary
from paretoslider.rewards.targets import target_set
from tests.bench.conftest import make_record

NAMES = ("targets2_0", "targets2_1")


def _records(shortfall: float) -> list[dict]:
    ts = target_set(2)
    out = []
    for seed in (0, 1, 2):
        for w1 in np.linspace(0, 1, 11):
            w = [float(w1), float(1 - w1)]
            utility, best = ts.optimum(w)
            got = [float(x) - shortfall for x in best]
            rec = make_record("paretoslider", seed, w, got, got, names=NAMES, suite="targets_2")
            rec["truth"] = {"utility": utility, "scores": [float(x) for x in best]}
            rec["ref_point"] = [-0.1, -0.1]
            out.append(rec)
    return out


def test_a_run_at_the_optimum_has_no_regret_and_the_fronts_volume():
    row = truth_summary(_records(0.0)).iloc[0]
    assert row["regret_true_mean"] == pytest.approx(0.0, abs=1e-9)
    assert row["regret_true_worst"] == pytest.approx(0.0, abs=1e-9)
    assert row["hv_ratio"] == pytest.approx(1.0)
    assert row["r2"] == pytest.approx(row["r2_truth"])


def test_a_run_short_of_the_optimum_has_that_regret():
    row = truth_summary(_records(0.05)).iloc[0]
    # w sums to 1, so scores 0.05 short in every objective lose exactly 0.05 of w.r
    assert row["regret_true_mean"] == pytest.approx(0.05)
    assert row["hv_ratio"] < 1.0 and row["r2"] > row["r2_truth"]
    assert truth_section(_records(0.05)).title == "Known front (held-out)"
    assert truth_section([{**r, "truth": None} for r in _records(0.0)]) is None


def test_r2_of_the_utopia_point_is_zero_and_of_the_nadir_is_the_largest_weight():
    ws = np.array([[0.5, 0.5], [1.0, 0.0], [0.25, 0.75]])
    assert r2(np.ones((1, 2)), ws) == 0.0
    assert r2(np.zeros((1, 2)), ws) == pytest.approx(np.mean([0.5, 1.0, 0.75]))


def _set_records(m: int, method: str, shortfall: float) -> list[dict]:
    from paretoslider.preferences import eval_grid

    ts = target_set(m)
    names = tuple(f"targets{m}_{i}" for i in range(m))
    grid = eval_grid(m, n=11) if m == 2 else eval_grid(m, kind="anchored")
    out = []
    for seed in (0, 1, 2):
        for w in grid.double().numpy():
            utility, best = ts.optimum(w)
            got = [float(x) - shortfall - 0.01 * seed for x in best]
            rec = make_record(method, seed, [float(x) for x in w], got, got, names=names,
                              suite=f"targets_{m}")
            rec["truth"] = {"utility": utility, "scores": [float(x) for x in best]}
            out.append(rec)
    return out


def test_the_scaling_report_plots_truth_and_compares_at_every_m(tmp_path):
    from bench.report.build import build_scaling_report
    from bench.store.records import append_record

    dirs = []
    for m in (2, 3):
        folder = tmp_path / f"targets_{m}"
        for rec in _set_records(m, "paretoslider", 0.02) + _set_records(m, "fixed_weight", 0.1):
            append_record(folder / "records.jsonl", rec)
        dirs.append(folder)
    figure = build_scaling_report(dirs, tmp_path / "scaling")
    assert figure.name == "scaling.png" and figure.stat().st_size > 10_000
    table = (tmp_path / "scaling" / "truth_by_M.md").read_text()
    # fixed_weight is 0.08 further from the optimum on every objective, hence in w.r
    assert "| 2 | fixed_weight | +0.080 (" in table and "| 3 | fixed_weight | +0.080 (" in table
