"""The target objectives' known answers: the optimum in closed form at M = 2, against dense
searches at M = 2 and 3, the true front's volume, the rewards on rendered images, the
held-out twins, and the anchored evaluation grid."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from pymoo.indicators.hv import HV

from paretoslider.preferences import eval_grid
from paretoslider.rewards import build_reward
from paretoslider.rewards.attributes import attributes, attributes_heldout
from paretoslider.rewards.targets import simplex_vertices, target_objectives, target_set
from paretoslider.worlds import build_world
from paretoslider.worlds.shapes import SHAPES, render, sample_style_weights


@pytest.mark.parametrize("m", [2, 3, 4, 5])
def test_targets_are_a_regular_simplex(m):
    c = simplex_vertices(m, radius=1.0)
    assert np.allclose(c.sum(axis=0), 0) and np.allclose(np.linalg.norm(c, axis=1), 1)
    edges = [np.linalg.norm(a - b) for a, b in itertools.combinations(c, 2)]
    assert np.allclose(edges, edges[0])  # every pair equally far: no pair is favoured


def test_two_objectives_in_closed_form():
    ts = target_set(2)
    value, scores = ts.optimum([1.0, 0.0])
    assert value == pytest.approx(1.0) and scores == pytest.approx([1.0, np.exp(-1.0)])
    # at equal weights the one peak is the midpoint, half an edge from each target
    value, scores = ts.optimum([0.5, 0.5])
    assert value == pytest.approx(np.exp(-0.25)) and scores == pytest.approx([np.exp(-0.25)] * 2)


@pytest.mark.parametrize("m, w", [(2, [0.8, 0.2]), (2, [0.35, 0.65]), (3, [0.5, 0.3, 0.2]),
                                  (3, [1 / 3] * 3)])
def test_optimum_matches_a_dense_search(m, w):
    ts = target_set(m)
    axis = np.linspace(-2.5, 2.5, 2001 if m == 2 else 401)
    z = np.stack(np.meshgrid(*[axis] * (m - 1), indexing="ij"), axis=-1).reshape(-1, m - 1)
    dense = (ts.scores(z) @ np.asarray(w)).max()
    value, _ = ts.optimum(w)
    assert value >= dense - 1e-9  # no attribute vector does better
    assert value == pytest.approx(dense, abs=2e-4)


@pytest.mark.parametrize("m", [2, 3])
def test_true_front_volume_matches_a_dense_computation(m):
    ts = target_set(m)
    ws = eval_grid(m, n=101) if m == 2 else eval_grid(m, n=30)
    _, front = ts.front(ws.double().numpy())
    axis = np.linspace(-1.5, 1.5, 601 if m == 2 else 121)
    z = np.stack(np.meshgrid(*[axis] * (m - 1), indexing="ij"), axis=-1).reshape(-1, m - 1)
    ref = np.zeros(m)
    dense = HV(ref_point=ref)(-ts.scores(z))
    assert HV(ref_point=ref)(-front) == pytest.approx(dense, rel=0.01)


def _renders(n: int = 1024, seed: int = 3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    shapes = torch.randint(len(SHAPES), (n,), generator=gen)
    return render(shapes, sample_style_weights(gen, n), seed=seed)


def test_a_rendered_image_near_a_target_scores_near_one_and_the_twin_agrees():
    images = _renders()
    prompts = ["a circle"] * len(images)
    for i in range(3):
        train = build_reward(f"targets3_{i}")(images, prompts)
        held = build_reward(f"targets3_{i}_heldout")(images, prompts)
        assert 0.97 <= float(train.max()) <= 1.0  # the world draws every target
        assert float(np.corrcoef(train, held)[0, 1]) > 0.8
    # the reward is the formula on the image's own attributes
    ts = target_set(3)
    z = ts.standardise(attributes(images[:8]).double(), "train").numpy()
    expected = np.exp(-((z - ts.centres[1]) ** 2).sum(1) / ts.width**2)
    assert build_reward("targets3_1")(images[:8], prompts[:8]).numpy() == pytest.approx(
        expected, abs=1e-6)
    assert attributes_heldout(images[:8]).shape == (8, 4)


def test_the_world_knows_the_optimum_of_target_sets_only():
    world = build_world("shapes")
    found = world.known_optimum(["targets2_0", "targets2_1"], [0.5, 0.5])
    assert found["utility"] == pytest.approx(np.exp(-0.25))
    assert world.known_optimum(["photo", "sketch"], [0.5, 0.5]) is None
    assert target_objectives(["targets3_0_heldout", "targets3_1_heldout", "targets3_2_heldout"])
    assert target_objectives(["targets3_1", "targets3_0", "targets3_2"]) is None  # order counts


@pytest.mark.parametrize("m, size, interior", [(3, 10, 4), (4, 15, 5), (5, 21, 6)])
def test_anchored_grid_asks_for_every_objective(m, size, interior):
    g = eval_grid(m, kind="anchored").double()
    assert g.shape == (size, m) and int((g > 0).all(dim=1).sum()) == interior
    eye = torch.eye(m, dtype=g.dtype)
    for row in [*eye, torch.full((m,), 1.0 / m, dtype=g.dtype), (eye[0] + eye[1]) / 2]:
        assert torch.isclose(g, row, atol=1e-6).all(dim=1).any()
