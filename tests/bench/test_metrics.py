"""Known answers for the front, utility, controllability and seed statistics."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bench.metrics import control as ctl
from bench.metrics import front as metrics
from bench.metrics.stats import (
    clip_interval,
    difference_draws,
    percentile_interval,
    probability_of_improvement,
    summarise,
)


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
    # r0 = w^2 jumps 0.4375 of its range 1 in the last step; r1 moves 0.25 per step.
    assert ctl.jump_ratio(WS, rs) == pytest.approx(0.4375)


def test_spearman_and_monotonicity_on_non_monotone_sweep():
    rs = np.c_[[0, 0.5, 0.2, 0.8, 1.0], 1 - W]
    assert ctl.spearman(WS, rs)[0] == pytest.approx(0.9)  # 1 - 6 * 2 / 120
    assert ctl.monotonicity(WS, rs) == pytest.approx(7 / 8)  # one wrong step of eight checks
    assert ctl.jump_ratio(WS, rs) == pytest.approx(0.6)  # 0.2 -> 0.8 over a range of 1


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


def test_monotonicity_rewards_no_flat_steps():
    # A policy that ignores w scores 0, also when its rewards are saturated.
    assert ctl.monotonicity(WS, np.full((5, 2), 0.4)) == 0.0
    assert ctl.monotonicity(WS, np.ones((5, 2))) == 0.0
    # Steps of two flat pairs of four grid steps: r0 rises in 2 of 4, r1 falls in 4 of 4.
    stairs = np.c_[[0.0, 0.0, 0.5, 0.5, 1.0], 1 - W]
    assert ctl.monotonicity(WS, stairs) == pytest.approx(6 / 8)
    # A rise below the evaluation-noise tolerance is a flat step.
    assert ctl.monotonicity(WS, np.c_[W * 1e-4, 1 - W]) == pytest.approx(4 / 8)


def test_jump_ratio_of_a_switch_and_of_a_flat_policy():
    switch = np.c_[[0, 0, 1, 1, 1], [1, 1, 0, 0, 0]]
    assert ctl.jump_ratio(WS, switch) == 1.0
    assert ctl.jump_ratio(WS, np.c_[W, 1 - W]) == pytest.approx(0.25)  # the even ramp
    assert ctl.jump_ratio(WS, np.full((5, 2), 0.3)) is None  # nothing moves


def test_batched_controllability_matches_single_sweeps():
    rng = np.random.default_rng(1)
    rs = rng.random((6, 5, 2))
    batch = ctl.spearman_batch(WS, rs)
    for b, r in enumerate(rs):
        assert batch[b] == pytest.approx(np.mean(ctl.spearman(WS, r)))
        assert ctl.monotonicity_batch(WS, rs)[b] == ctl.monotonicity(WS, r)


def test_blend_and_neither_shares_per_cell():
    ws = np.array([[1.0, 0.0], [0.5, 0.5], [0.2, 0.8]])
    # Four images per cell; threshold 0.25 on normalised scores.
    samples = np.array([
        [[0.9, 0.1], [0.8, 0.0], [0.1, 0.1], [0.3, 0.3]],   # vertex: no share
        [[0.5, 0.5], [0.3, 0.3], [0.9, 0.0], [0.1, 0.1]],   # 2 blends, 1 neither
        [[0.0, 0.9], [0.0, 0.8], [0.9, 0.0], [0.24, 0.2]],  # no blend, 1 neither
    ])
    blend, neither = ctl.shares(ws, samples)
    assert np.isnan(blend[0]) and np.isnan(neither[0])
    assert blend[1:].tolist() == [0.5, 0.0] and neither[1:].tolist() == [0.25, 0.25]
    # Three objectives: at (0.5, 0.5, 0) only the two asked-for objectives count.
    b3, n3 = ctl.shares([[0.5, 0.5, 0.0]], np.array([[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]]))
    assert b3.tolist() == [0.5] and n3.tolist() == [0.5]


def test_hypervolume_batch_matches_pymoo_and_moocore():
    rng = np.random.default_rng(0)
    for m in (2, 3):
        sets = rng.random((20, 6, m))
        sets[:, 2] = np.nan  # a missing point adds nothing
        ref = np.full(m, 0.1)
        expected = [metrics.hypervolume(s[~np.isnan(s).any(axis=1)], ref) for s in sets]
        assert metrics.hypervolume_batch(sets, ref) == pytest.approx(expected, abs=1e-12)


def test_greedy_subset_on_a_small_set_against_exhaustive_pymoo():
    pts = np.array([[1.0, 0.0], [0.9, 0.5], [0.6, 0.6], [0.5, 0.9], [0.0, 1.0], [0.3, 0.3]])
    chosen = metrics.greedy_subset(pts[None], 2, [0.0, 0.0])[0]
    # First the point of largest HV (0.9 * 0.5 = 0.45 = 0.5 * 0.9: the lower index wins),
    # then the largest gain: (0.5, 0.9) adds 0.5 * 0.4 = 0.2, the most of any point.
    assert chosen.tolist() == [1, 3]
    best_pair = max(metrics.hypervolume(pts[[i, j]], [0, 0]) for i in range(6)
                    for j in range(i + 1, 6))
    assert metrics.hypervolume(pts[chosen], [0, 0]) == pytest.approx(best_pair)  # 0.65
    # Asked for more: (0.6, 0.6) still adds 0.1 * 0.1; the rest add nothing and are left out.
    more = metrics.greedy_subset(pts[None], 9, [0, 0])[0]
    assert more.tolist() == [1, 3, 2, -1, -1, -1]


def test_ideal_box_normalisation():
    assert metrics.ideal_box_volume([0.2, 0.0], [0.7, 0.5]) == pytest.approx(0.25)
    assert metrics.normalised_hypervolume([[0.7, 0.5]], [0.2, 0.0], [0.7, 0.5]) == 1.0


def test_interval_is_clipped_to_the_metric_range():
    # Three seeds near the top of [-1, 1]: a t-interval would spill above 1.
    s = summarise([1.0, 0.6, 1.0], bounds=(-1.0, 1.0))
    assert -1.0 <= s.ci_low <= s.ci_high <= 1.0
    # One seed at the top of its range whose samples spread +-0.2: clipped at 1.
    top = summarise([1.0], bounds=(0.0, 1.0), reps=np.linspace(0.8, 1.2, 1000)[None])
    assert top.ci_low == pytest.approx(0.81, abs=0.002) and top.ci_high == 1.0
    assert clip_interval(-0.2, 1.3, (0.0, 1.0)) == (0.0, 1.0)
    assert percentile_interval(np.array([0.0, 1.0, 2.0]), (0.5, 1.5)) == (0.5, 1.5)


def test_summary_single_seed_identical_seeds_and_all_missing():
    s = summarise([0.7])
    assert (s.mean, s.ci_low, s.ci_high, s.min, s.max) == (0.7, None, None, 0.7, 0.7)
    same = summarise([0.3, 0.3, 0.3])  # identical seeds: a zero-width interval, no spread
    assert (same.ci_low, same.ci_high) == pytest.approx((0.3, 0.3))
    assert summarise([None, None]) is None


def test_bootstrap_over_seeds_and_samples():
    # Two seeds at 0 and 1 with sample noise: the interval covers both sources.
    reps = np.stack([np.linspace(-0.5, 0.5, 1000), 1 + np.linspace(-0.5, 0.5, 1000)])
    s = summarise([0.0, 1.0], reps=reps)
    assert s.mean == 0.5 and s.ci_low < 0.0 and s.ci_high > 1.0
    assert summarise([0.0, 1.0], reps=reps) == s  # seeded: reports are reproducible
    seeds_only = summarise([0.0, 1.0])  # without the samples' noise: narrower
    assert s.ci_low < seeds_only.ci_low < seeds_only.ci_high < s.ci_high


def test_paired_difference_cancels_shared_seed_effects():
    x = np.array([[1.0], [2.0], [3.0]])
    paired = difference_draws(x + 0.1, [0, 1, 2], x, [0, 1, 2])
    assert np.allclose(paired, 0.1)  # the seed effect cancels exactly
    unpaired = difference_draws(x + 0.1, [0, 1, 2], x, [3, 4, 5])
    assert np.ptp(unpaired) > 1.0


def test_probability_of_improvement_known_pairs():
    assert probability_of_improvement([1, 2, 3], [2, 2, 2]) == pytest.approx(0.5)
    assert probability_of_improvement([3, 4], [1, 2]) == 1.0
    assert probability_of_improvement([1, 2], [1, 2]) == pytest.approx(0.5)  # 2 wins, 2 ties
    assert probability_of_improvement([], [1.0]) is None


def test_normalised_hypervolume_clips_points_to_the_box():
    # (0.9, 0.2) beyond the box top 0.5 in r_0 counts as (0.5, 0.2): 0.5 * 0.2 / (0.5 * 0.5)
    assert metrics.normalised_hypervolume([[0.9, 0.2]], [0.0, 0.0], [0.5, 0.5]) == \
        pytest.approx(0.4)
    assert metrics.normalised_hypervolume([[0.9, 0.9], [0.1, 0.1]], [0.0, 0.0],
                                          [0.5, 0.5]) == pytest.approx(1.0)
