import functools

import pytest
import torch

from paretoslider.backbones.mlp import MLPFlow
from paretoslider.samplers import sample_ode
from paretoslider.trainer import Trainer
from paretoslider.worlds.gauss import (
    GaussWorld,
    LinearReward,
    angle_deg,
    known_answer_config,
    make_base_model,
    mean_shifts,
)

torch.set_num_threads(1)
WS = torch.tensor([[1.0, 0.0], [0.75, 0.25], [0.5, 0.5], [0.25, 0.75], [0.0, 1.0]])


def test_linear_rewards_and_ideal_direction():
    world = GaussWorld([[2.0, 0.0], [0.0, 0.5]])
    r0, r1 = world.rewards()
    x = torch.tensor([[1.0, 2.0], [-1.0, 4.0]])
    assert r0(x, ["gauss"] * 2).tolist() == [2.0, -2.0]
    assert r1(x, ["gauss"] * 2).tolist() == [1.0, 2.0]
    assert r0.range == (-6.0, 6.0) and r0.direction == "max"
    # sum_m w_m a_m / |a_m|: the lengths 2 and 0.5 do not matter
    d = world.ideal_direction([[0.5, 0.5], [0.25, 0.75], [1.0, 0.0]])
    s = 2**-0.5
    n = (0.25**2 + 0.75**2) ** 0.5
    assert d.tolist() == [
        pytest.approx([s, s]), pytest.approx([0.25 / n, 0.75 / n]), pytest.approx([1.0, 0.0])
    ]
    e1, diag = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]])
    assert angle_deg(e1, diag).item() == pytest.approx(45)
    with pytest.raises(ValueError, match="d >= 2"):
        GaussWorld([[1.0]])
    with pytest.raises(ValueError, match="dim 2"):
        LinearReward([1.0, 0.0])(torch.zeros(3, 3), ["g"] * 3)


def test_mlp_backbone_interface():
    m = MLPFlow(dim=3, hidden=16)
    cond = m.encode_prompts(["a", "b"])
    x, t = torch.randn(2, 3), torch.tensor([0.2, 0.9])
    assert m(x, t, cond).shape == (2, 3) and m.image_shape == (3,)
    with pytest.raises(ValueError, match="add_preference"):
        m(x, t, cond, torch.tensor([[1.0, 0.0]] * 2))
    v = m(x, t, cond)
    m.add_preference(2)
    assert m.num_objectives == 2 and len(m.preference_parameters()) == 4
    assert torch.equal(m(x, t, cond, None), v)  # w=None: no preference input
    near = m(x, t, cond, torch.tensor([[1.0, 0.0], [0.3, 0.7]]))
    assert (near - v).abs().max() < 0.05  # last layer drawn with std 1e-3: starts near v
    assert m.preference.out.bias.abs().max() == 0
    with pytest.raises(ValueError, match="must be"):
        m(x, t, cond, torch.tensor([[1.0, 0.0, 0.0]] * 2))
    with pytest.raises(ValueError, match="'both' or 'time'"):
        m.add_preference(2, "block")
    assert MLPFlow(**m.config()).config() == m.config()


def test_pretrained_base_samples_match_the_data():
    m = make_base_model()
    noise = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0))
    x = sample_ode(m, noise, m.encode_prompts(["gauss"] * 2000), None, 30)
    assert x.mean(0).abs().max() < 0.15
    assert ((x.std(0) - 1).abs() < 0.2).all()


@functools.cache
def _shifts(scale: float, scalarisation: str) -> torch.Tensor:
    world = GaussWorld([[1.0, 0.0], [0.0, scale]])
    cfg = known_answer_config(scalarisation=scalarisation)
    tr = Trainer(make_base_model(), world.rewards(), world.prompts, cfg)
    tr.train()
    return mean_shifts(tr.policy, tr.state.reference, WS, steps=cfg.sampling_steps)


def test_late_scalarisation_moves_the_mean_along_the_known_direction():
    shifts = _shifts(1.0, "late")
    ideal = GaussWorld([[1.0, 0.0], [0.0, 1.0]]).ideal_direction(WS)
    angles = angle_deg(shifts, ideal)
    assert (angles < 15).all(), angles
    assert angles.mean() < 8, angles
    assert (shifts.norm(dim=1) > 0.05).all()  # the model did move, at every w
    # the slider works: along e1 the shift falls monotonically as w1 falls, e2 the reverse
    assert (shifts[1:, 0] < shifts[:-1, 0]).all() and (shifts[1:, 1] > shifts[:-1, 1]).all()


def test_late_scalarisation_ignores_reward_scale():
    a, b = _shifts(1.0, "late"), _shifts(100.0, "late")
    assert torch.allclose(a, b, atol=0.01), (a, b)


def test_early_scalarisation_depends_on_reward_scale():
    a, b = _shifts(1.0, "early"), _shifts(100.0, "early")
    angles = angle_deg(a, b)
    # with a_2 x100, the raw weighted sum is dominated by reward 2 at every w with w_2 > 0
    assert angles[0:3].min() > 20, angles
    late_gap = angle_deg(_shifts(1.0, "late"), _shifts(100.0, "late"))
    assert late_gap.max() < 2 and angles.max() > 10 * late_gap.max() + 10
