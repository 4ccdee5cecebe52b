"""Known answers for the front, utility, controllability and seed statistics."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bench import controllability as ctl
from bench import metrics
from bench.stats import summarise, t_interval


def quarter_circle(n: int = 2001) -> np.ndarray:
    """n points on the front r0^2 + r1^2 = 1 (the DTLZ2 front for M = 2)."""
    t = np.linspace(0.0, np.pi / 2, n)
    return np.c_[np.cos(t), np.sin(t)]


def test_hypervolume_quarter_circle_maximisation_is_pi_over_4():
    hv = metrics.hypervolume(quarter_circle(), [0.0, 0.0])
    assert hv == pytest.approx(np.pi / 4, abs=1e-3)
    assert hv < np.pi / 4  # a finite staircase lies inside the front


def test_hypervolume_dtlz2_minimisation_form_is_one_minus_pi_over_4():
    # Minimising f with ref (1, 1) is maximising -f with ref (-1, -1).
    hv = metrics.hypervolume(-quarter_circle(), [-1.0, -1.0])
    assert hv == pytest.approx(1 - np.pi / 4, abs=1e-3)


def test_hypervolume_single_points_exact():
    assert metrics.hypervolume([[0.5, 0.25]], [0.0, 0.0]) == pytest.approx(0.125)
    assert metrics.hypervolume([[0.5, 0.5, 0.5]], [0.1, 0.0, 0.0]) == pytest.approx(0.1)
    assert metrics.hypervolume([[0.5, 0.25]], [0.5, 0.0]) == 0.0  # does not beat ref
    assert metrics.hypervolume(np.zeros((0, 2)), [0.0, 0.0]) is None


def test_normalised_hypervolume_against_ideal_box():
    assert metrics.normalised_hypervolume([[1.0, 1.0]], [0.0, 0.0]) == pytest.approx(1.0)
    assert metrics.normalised_hypervolume([[0.75, 1.0]], [0.5, 0.5]) == pytest.approx(0.5)


def test_normalise_by_declared_ranges():
    assert metrics.normalise([5.0, 0.5], [[0, 10], [0, 1]]).tolist() == [0.5, 0.5]
    assert metrics.normalise([12.0], [[0, 10]]).tolist() == [1.0]
    with pytest.raises(ValueError):
        metrics.normalise([1.0], [[1, 1]])


def test_expected_and_conditioned_utility_hand_examples():
    grid = [[1, 0], [0.5, 0.5], [0, 1]]
    pts = [[1, 0], [0.6, 0.6], [0, 1]]
    assert metrics.expected_utility(pts, grid) == pytest.approx(2.6 / 3)
    assert metrics.conditioned_utility(grid, pts) == pytest.approx(2.6 / 3)
    # The slider delivers the wrong end at each corner: calibrated utility collapses.
    assert metrics.conditioned_utility(grid, pts[::-1]) == pytest.approx(0.2)


def test_igd_plus_and_cardinality():
    front = quarter_circle(50)
    assert metrics.igd_plus(front, front) == pytest.approx(0.0)
    assert metrics.igd_plus([[0.0, 0.0]], [[1, 0], [0, 1]]) == pytest.approx(1.0)
    assert metrics.igd_plus([[0.5, 0.5]], [[1, 0], [0, 1]]) == pytest.approx(0.5)
    assert metrics.igd_plus([[2.0, 2.0]], [[1, 0], [0, 1]]) == pytest.approx(0.0)
    assert metrics.cardinality([[1, 0], [0, 1], [0.5, 0.5], [0.2, 0.2], [1, 0]]) == 3


unit_points = arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(2, 3)),
                     elements=st.floats(0.0, 1.0))


@settings(max_examples=40, deadline=None)
@given(unit_points, st.floats(0.0, 1.0))
def test_hypervolume_ignores_dominated_points(points, shrink):
    dominated = points[:1] * shrink
    base = metrics.hypervolume(points, np.zeros(points.shape[1]))
    more = metrics.hypervolume(np.vstack([points, dominated]), np.zeros(points.shape[1]))
    assert more == pytest.approx(base, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(unit_points, st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3))
def test_hypervolume_monotone_and_bounded(points, extra):
    ref = np.zeros(points.shape[1])
    added = np.vstack([points, [extra[: points.shape[1]]]])
    assert metrics.hypervolume(added, ref) >= metrics.hypervolume(points, ref) - 1e-12
    assert metrics.normalised_hypervolume(added, ref) <= 1.0 + 1e-12


@settings(max_examples=40, deadline=None)
@given(unit_points, st.data())
def test_expected_utility_bounds_conditioned_utility(points, data):
    raw = data.draw(arrays(np.float64, points.shape, elements=st.floats(0.01, 1.0)))
    ws = raw / raw.sum(axis=1, keepdims=True)
    assert metrics.expected_utility(points, ws) >= metrics.conditioned_utility(ws, points) - 1e-12


W = np.linspace(0, 1, 5)
WS = np.c_[W, 1 - W]


def test_spearman_and_monotonicity_on_monotone_sweep():
    rs = np.c_[W**2, 1 - W]
    assert ctl.spearman(WS, rs) == pytest.approx([1.0, 1.0])
    assert ctl.monotonicity(WS, rs) == 1.0
    assert ctl.largest_jump(WS, rs) == pytest.approx(0.4375)  # r0 from 0.5625 to 1


def test_spearman_and_monotonicity_on_non_monotone_sweep():
    rs = np.c_[[0, 0.5, 0.2, 0.8, 1.0], 1 - W]
    assert ctl.spearman(WS, rs)[0] == pytest.approx(0.9)  # 1 - 6 * 2 / 120
    assert ctl.monotonicity(WS, rs) == pytest.approx(7 / 8)  # one wrong step of eight checks
    assert ctl.largest_jump(WS, rs) == pytest.approx(0.6)


def test_controllability_is_order_free_and_handles_flat_inputs():
    order = [3, 0, 4, 1, 2]
    rs = np.c_[W, 1 - W]
    assert ctl.monotonicity(WS[order], rs[order]) == 1.0
    assert ctl.spearman(WS, np.c_[np.full(5, 0.3), 1 - W]) == pytest.approx([0.0, 1.0])
    assert ctl.spearman(np.tile([0.5, 0.5], (5, 1)), rs) == [None, None]
    assert ctl.monotonicity([[0.5, 0.5]], [[0.1, 0.2]]) is None


def test_monotonicity_on_simplex_grid(das_dennis):
    grid = np.array(das_dennis(4))
    assert len(ctl.neighbour_steps(grid)) == 30  # 3 * H (H + 1) / 2 edges
    assert ctl.monotonicity(grid, grid) == 1.0
    assert ctl.spearman(grid, grid) == pytest.approx([1.0, 1.0, 1.0])
    bumped = grid.copy()
    centre = int(np.argmin(np.abs(grid - 1 / 3).sum(axis=1)))  # (0.5, 0.25, 0.25)-like
    bumped[centre, 0] = 1.0
    assert ctl.monotonicity(grid, bumped) < 1.0


def test_range_covered():
    rs = np.c_[np.linspace(0.2, 0.7, 5), np.linspace(0.9, 0.1, 5)]
    assert ctl.range_covered(rs) == pytest.approx(0.65)
    assert ctl.range_covered(rs, [[0.2, 0.7], [0.1, 0.9]]) == pytest.approx(1.0)
    assert ctl.range_covered(np.tile([0.4, 0.4], (5, 1))) == 0.0
    assert ctl.range_covered(rs, [[0.5, 0.5], [0.5, 0.5]]) is None


def test_blend_score_separates_blends_from_mixtures():
    rng = np.random.default_rng(0)
    low, high = 0.1 + 0.02 * rng.standard_normal(100), 0.9 + 0.02 * rng.standard_normal(100)
    assert ctl.blend_score(np.full(50, 0.5), low, high) == 1.0
    # A mixture of the extremes' own samples: only their outer 10% tails count as blends.
    assert ctl.blend_score(np.r_[low, high], low, high) == pytest.approx(0.1)
    assert ctl.blend_score(np.full(5, 0.5), high, low) is None


def test_t_interval_known_answer():
    s = summarise([1.0, 2.0, 3.0, None])
    half = 4.302652729911275 / math.sqrt(3)  # t_{0.975, 2} * s / sqrt(n), s = 1
    assert (s.mean, s.n, s.min, s.max) == (2.0, 3, 1.0, 3.0)
    assert s.ci_low == pytest.approx(2 - half) and s.ci_high == pytest.approx(2 + half)
    assert t_interval(np.array([4.0, 4.0])) == (4.0, 4.0)


def test_summary_single_seed_and_all_missing():
    s = summarise([0.7])
    assert (s.mean, s.ci_low, s.ci_high, s.min, s.max) == (0.7, None, None, 0.7, 0.7)
    assert summarise([None, None]) is None


def test_bootstrap_for_many_seeds():
    values = np.arange(20.0)
    s = summarise(values)
    # Normal approximation of the mean: 9.5 +- 1.96 * 5.766 / sqrt(20) = [6.97, 12.03].
    assert s.ci_low == pytest.approx(6.97, abs=0.25) and s.ci_high == pytest.approx(12.03, abs=0.25)
    assert summarise(values) == s  # seeded: reports are reproducible
    assert summarise(np.full(12, 0.3)).ci_low == pytest.approx(0.3)
