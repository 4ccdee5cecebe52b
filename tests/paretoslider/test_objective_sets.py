"""Conflict, complementarity and volume checks of an objective set, on synthetic scores."""
import numpy as np
import pytest

from paretoslider.worlds.objective_sets import (
    analyse_set,
    complement_gap,
    nondominated_hv,
    suite_objective_sets,
)


def test_complement_gap_known_answers():
    a = np.linspace(0, 1, 101)
    assert complement_gap(a, 1 - a) == pytest.approx(0)  # exact complements
    assert complement_gap(a, a) == pytest.approx(1)  # the same reward twice
    assert complement_gap(np.ones(5), np.ones(5)) is None  # both constant
    # equal spreads, correlation rho: sqrt((1 + rho) / 2)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(200_000), rng.standard_normal(200_000)
    assert complement_gap(x, y) == pytest.approx(0.5**0.5, abs=0.01)
    assert complement_gap(x, -0.6 * x + 0.8 * y) == pytest.approx(0.2**0.5, abs=0.01)


def test_hypervolume_of_the_nondominated_samples():
    pts = np.array([[0.5, 0.5], [0.2, 0.8], [0.1, 0.1], [-0.1, 0.9]])
    # union of [0, 0.5]^2 and [0, 0.2] x [0, 0.8]: 0.25 + 0.2 * 0.3; the last point is below ref
    assert nondominated_hv(pts, [0, 0]) == pytest.approx(0.31)
    assert nondominated_hv(pts[3:], [0, 0]) == 0.0
    cube = np.array([[0.5, 0.5, 0.5]])
    assert nondominated_hv(cube, [0, 0, 0]) == pytest.approx(0.125)


def test_a_set_with_a_complementary_pair_fails():
    rng = np.random.default_rng(1)
    a, c = rng.uniform(0.1, 0.9, 500), rng.uniform(0.1, 0.9, 500)
    rep = analyse_set({"a": a, "b": 1 - a + 0.01 * rng.standard_normal(500), "c": 1 - c})
    assert rep["complementary"] == ["a+b"]
    assert not rep["passed"]


def test_conflicting_partial_trade_off_passes():
    rng = np.random.default_rng(2)
    # three rewards with pairwise correlation -0.4 (a real trade-off, not a line)
    cov = np.full((3, 3), -0.4) + 1.4 * np.eye(3)
    z = rng.multivariate_normal(np.zeros(3), cov * 0.02, size=2000) + 0.5
    rep = analyse_set({"x": z[:, 0], "y": z[:, 1], "z": z[:, 2]})
    assert rep["all_conflict"] and rep["complementary"] == [] and rep["passed"]
    assert all(-0.5 < p["corr"] < -0.3 for p in rep["pairs"].values())
    assert 0 < rep["hv"] < 1 and rep["side"] == pytest.approx(rep["hv"] ** (1 / 3), abs=1e-3)


def test_positively_correlated_or_flat_sets_fail():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, 300)
    assert not analyse_set({"x": x, "y": x + 0.1 * rng.uniform(0, 1, 300)})["all_conflict"]
    flat = analyse_set({"x": x, "y": 0.5 - 0.01 * x})  # conflicts, but y hardly moves
    assert flat["all_conflict"] and not flat["volume"] and not flat["passed"]


def test_suite_objective_sets_read_the_shapes_suites():
    sets = suite_objective_sets()
    assert {"two_obj", "three_obj", "four_obj", "five_obj", "three_style"} <= set(sets)
    assert "gauss" not in sets
    for objectives, heldout, ref in sets.values():
        assert len(objectives) == len(heldout) == len(ref)
