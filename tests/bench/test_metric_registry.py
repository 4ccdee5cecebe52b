"""The metric registry: every metric meets its contract, the leaderboard's lists come from
it, and a metric registered from outside reaches the columns, tables and checks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.metrics.check import check_metric, random_run
from bench.metrics.registry import (
    METRICS,
    bounds,
    counts,
    is_ranked,
    label,
    larger_is_better,
    metric_columns,
    register_metric,
    table_columns,
)
from bench.metrics.resample import Context, replicate, sweep_metrics
from bench.report import tables


@pytest.mark.parametrize("name", METRICS.names())
def test_every_metric_meets_its_contract(name):
    check_metric(name)


def test_directions_bounds_and_labels_are_the_declared_ones():
    lower = {c for c in metric_columns() if not larger_is_better(c)}
    assert {"cu_gap", "heldout_igd_plus", "jump_ratio", "neither", "heldout_regret_mean",
            "regret_worst", "drift", "passes", "wall_s"} <= lower
    assert not {"hv", "heldout_hv_matched", "spearman", "blend", "adherence"} & lower
    assert larger_is_better("below_base:adherence_shape") is False
    assert not is_ranked("one_style") and not is_ranked("heldout_cardinality")
    assert not is_ranked("base_adherence:adherence_heldout") and is_ranked("heldout_hv")
    ref = np.array([0.2, 0.5])
    assert bounds("heldout_hv", ref) == (0.0, pytest.approx(0.4))
    assert bounds("hv_matched", ref) == (0.0, pytest.approx(0.4))
    assert bounds("spearman", ref) == (-1.0, 1.0)
    assert bounds("igd_plus", ref) == (0.0, np.inf)
    assert bounds("adherence_worst:x", ref) == (0.0, 1.0)
    assert label("heldout_cu_gap") == "EUM-CU" and label("below_base:x") == "Below base"
    assert {"cardinality", "passes", "checkpoint_bytes"} <= counts()
    assert "wall_s" not in counts()


def test_columns_keep_the_leaderboard_order():
    cols = metric_columns()
    assert cols[:4] == ["hv", "hv_norm", "hv_matched", "cu"]
    assert cols[cols.index("regret_worst") + 1] == "eum"  # sweep metrics, then point metrics
    assert cols[cols.index("jump_ratio") + 1] == "heldout_hv"
    assert cols[-3:] == ["checkpoints", "checkpoint_bytes", "slider_change_cost"]
    assert [c for c, _ in table_columns(("sweep", "point"))][:4] == ["hv_matched", "hv",
                                                                     "hv_norm", "eum"]
    assert "cardinality" not in dict(table_columns(("point",)))  # the CSV alone has it


@pytest.fixture
def best_utility():
    """A metric registered the way a plug-in registers one, removed afterwards."""
    metric = register_metric("best_utility", "Best w.r", "sweep", order=0.5)(
        lambda v: v.utility.max(axis=1))
    # the decorated name is the registered entry: an entry point naming it loads the same one
    assert METRICS.get("best_utility") is metric
    yield "best_utility"
    del METRICS._entries["best_utility"]


def test_a_registered_metric_reaches_columns_tables_and_values(best_utility):
    cols = metric_columns()
    assert "best_utility" in cols and "heldout_best_utility" in cols
    assert cols.index("best_utility") == cols.index("regret_worst") + 1
    assert table_columns(("sweep", "point"))[0] == ("best_utility", "Best w.r")
    board = pd.DataFrame({"method": ["a"], "n_seeds": [1], "n_distinct_seeds": [1],
                          "w_dependent": [True], "heldout_best_utility": [0.75]})
    full = {s.title: s for s in tables.sections(board)}["Held-out judges (all metrics)"]
    assert full.header[:3] == ["Method", "Best w.r", "HV matched"]
    assert full.body[0][1] == ("0.750", False)
    run = random_run(np.random.default_rng(1), 2)
    found = sweep_metrics(run, *replicate(run, 0), Context(np.zeros(2)), True)
    expected = np.max(np.sum(run.ws * run.means["heldout"], axis=1))
    assert found["heldout_best_utility"] == pytest.approx([expected])
    check_metric(best_utility)


def test_a_metric_outside_its_bounds_fails_its_check():
    register_metric("too_big", "Too big", "run", bounds=(0.0, 1.0))(lambda run: 2.0)
    try:
        with pytest.raises(AssertionError, match="too_big: 2..2 leaves its bounds"):
            check_metric("too_big")
    finally:
        del METRICS._entries["too_big"]


def test_a_metric_name_is_taken_once():
    with pytest.raises(ValueError, match="metric 'hv' is registered twice"):
        register_metric("hv", "HV", "sweep")(lambda v: None)
