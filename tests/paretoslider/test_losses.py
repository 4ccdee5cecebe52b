import math

import pytest
import torch
from torch import nn

from paretoslider.losses import (
    adaptive_l2,
    advantage_to_q,
    ema_decay,
    ema_update,
    grpo_loss,
    nft_loss,
    ppo_clipped,
    reference_regularizer,
    step_kl,
    x0_from_v,
)
from paretoslider.samplers import sde_step


def _nft_case():
    # x_t = (1, 1), x0 = (0, 0), t = 0.5, v_old = (1, 1), v_theta = (3, 1), b = 0.1
    # v+ = (1.2, 1.0) -> x0_hat+ = (0.4, 0.5): L+ = 0.205 / 0.45
    # v- = (0.8, 1.0) -> x0_hat- = (0.6, 0.5): L- = 0.305 / 0.55
    v = torch.tensor([[3.0, 1.0]], requires_grad=True)
    return {
        "v_theta": v, "v_old": torch.tensor([[1.0, 1.0]]), "x_t": torch.ones(1, 2),
        "x0": torch.zeros(1, 2), "t": torch.tensor([0.5]), "adv": torch.tensor([[2.5, -10.0]]),
        "w": torch.tensor([[0.6, 0.4]]),
    }


def test_x0_from_v_and_q():
    assert x0_from_v(torch.ones(2, 2), torch.tensor([0.5, 1.0]), torch.ones(2, 2)).tolist() == [
        [0.5, 0.5], [0.0, 0.0]
    ]
    q = advantage_to_q(torch.tensor([-10.0, -5.0, 0.0, 2.5, 7.0]))
    assert q.tolist() == [0.0, 0.0, 0.5, 0.75, 1.0]


def test_nft_loss_exact_value():
    terms = nft_loss(**_nft_case())
    assert terms.l_plus.item() == pytest.approx(0.205 / 0.45)
    assert terms.l_minus.item() == pytest.approx(0.305 / 0.55)
    # q = (0.75, 0): L_1 = (0.75 L+ + 0.25 L-) / 0.1 = 4.80303..., L_2 = L- / 0.1 = 5.54545...
    assert terms.per_objective[0].tolist() == pytest.approx([4.803030303, 5.545454545])
    # 5 * (0.6 * 4.80303 + 0.4 * 5.54545) = 5 * 5.1
    assert terms.loss.item() == pytest.approx(25.5)


def test_nft_loss_exact_gradient_with_detached_weights():
    case = _nft_case()
    nft_loss(**case).loss.backward()
    # d/dv = (5 / b) [0.45 * (-t b e+ / a+) + 0.55 * (t b e- / a-)]   (mean over 2 dims: 2e/2)
    #      = 50 [0.45 * (-0.05) (0.4, 0.5) / 0.45 + 0.55 * 0.05 (0.6, 0.5) / 0.55] = (0.5, 0)
    assert case["v_theta"].grad.tolist()[0] == pytest.approx([0.5, 0.0], abs=1e-6)


def test_nft_loss_is_zero_gradient_when_advantage_neutral_and_policy_equals_old():
    # q = 0.5 and v_theta = v_old: the pulls of L+ and L- cancel exactly
    v = torch.tensor([[0.3, -0.2]], requires_grad=True)
    nft_loss(v, v.detach().clone(), torch.ones(1, 2), torch.zeros(1, 2), torch.tensor([0.7]),
             torch.zeros(1, 1), torch.ones(1, 1)).loss.backward()
    assert v.grad.abs().max().item() < 1e-6


def test_adaptive_weight_is_floored():
    err = torch.full((1, 2), 1e-6)
    assert adaptive_l2(err, torch.zeros(1, 2)).item() == pytest.approx(1e-12 / 1e-5)


def test_reference_regularizer_value():
    v, ref = torch.tensor([[1.0, 2.0]]), torch.zeros(1, 2)
    assert reference_regularizer(v, ref).item() == pytest.approx(2.5e-4)
    assert reference_regularizer(v, ref, 0.5).item() == pytest.approx(1.25)


def test_ema_decay_schedule_and_update_convention():
    decays = [ema_decay(s) for s in (0, 100, 250, 500, 600)]
    assert decays == pytest.approx([0, 0.1, 0.25, 0.5, 0.5])
    old, new = nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)
    new.weight.data.fill_(3.0)
    for step, expected in ((100, 2.8), (1000, 2.0), (0, 3.0)):
        old.weight.data.fill_(1.0)
        decay = ema_update(old, new, step)
        # decay is the weight kept on the OLD parameters
        assert old.weight.item() == pytest.approx(decay * 1.0 + (1 - decay) * 3.0)
        assert old.weight.item() == pytest.approx(expected)


def test_ema_update_only_named_parameters():
    old, new = nn.Linear(1, 1), nn.Linear(1, 1)
    old.weight.data.fill_(1.0), old.bias.data.fill_(1.0)
    new.weight.data.fill_(3.0), new.bias.data.fill_(3.0)
    ema_update(old, new, 100, names=["weight"])
    assert (old.weight.item(), old.bias.item()) == (pytest.approx(2.8), 1.0)


def test_ppo_clipped_exact():
    new = torch.tensor([math.log(1.5), math.log(0.5)], requires_grad=True)
    old = torch.zeros(2)
    # A = (1, -1): max(-A r, -A clip(r)) = max((-1.5, 0.5), (-1.2, 0.8)) = (-1.2, 0.8)
    loss, frac = ppo_clipped(new, old, torch.tensor([1.0, -1.0]), 0.2)
    assert loss.item() == pytest.approx(-0.2) and frac.item() == 1.0
    loss.backward()
    assert new.grad.tolist() == [0.0, 0.0]  # both terms clipped: no gradient
    new.grad = None
    # A = (-1, 1): max((1.5, -0.5), (1.2, -0.8)) = (1.5, -0.5), unclipped: d/dlogp = -A r / 2
    loss, _ = ppo_clipped(new, old, torch.tensor([-1.0, 1.0]), 0.2)
    assert loss.item() == pytest.approx(0.5)
    loss.backward()
    assert new.grad.tolist() == pytest.approx([0.75, -0.25])


def test_grpo_loss_adds_beta_times_step_kl():
    lp = torch.zeros(2)
    mean_new, mean_ref = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.zeros(2, 2)
    # KL per sample: mean((mu - mu_ref)^2) / (2 * 0.25) = (2.5 / 0.5, 0) -> batch mean 2.5
    assert step_kl(mean_new, mean_ref, 0.5).item() == pytest.approx(2.5)
    terms = grpo_loss(lp, lp, torch.tensor([1.0, -3.0]), mean_new, mean_ref, 0.5)
    assert terms.policy.item() == pytest.approx(1.0)  # ratio 1: -mean(A) = 1
    assert terms.kl.item() == pytest.approx(2.5)
    assert terms.loss.item() == pytest.approx(1.0 + 0.04 * 2.5)
    assert step_kl(mean_new, mean_ref, 0.0).item() == 0.0


def test_grpo_ratio_is_one_on_the_sampling_policy():
    # re-scoring a stored SDE step with the same velocity gives back its log-prob
    g = torch.Generator().manual_seed(0)
    x, v = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    step = sde_step(x, v, 0.6, 0.5, 0.7, noise=torch.randn(3, 4, generator=g))
    again = sde_step(x, v, 0.6, 0.5, 0.7, sample=step.sample)
    terms = grpo_loss(again.log_prob, step.log_prob, torch.tensor([1.0, 0.0, -1.0]))
    assert torch.equal(again.log_prob, step.log_prob)
    assert terms.policy.item() == pytest.approx(0.0, abs=1e-7)
    assert terms.clip_frac.item() == 0.0
