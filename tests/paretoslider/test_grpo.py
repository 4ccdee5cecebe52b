"""Flow-GRPO's parts one by one: the SDE step, the clipped ratio, the KL, and an update."""
import math

import pytest
import torch

from paretoslider.losses.grpo import grpo_loss, ppo_clipped, step_kl
from paretoslider.samplers import sample_ode, sample_sde, sde_step
from paretoslider.trainer import Trainer
from paretoslider.trainer.config import TrainConfig
from paretoslider.worlds.gauss import GaussWorld, make_base_model

torch.set_num_threads(1)


def test_sde_step_mean_std_and_log_prob_match_their_closed_forms():
    x = torch.tensor([[0.5, -1.0]])
    v = torch.tensor([[2.0, 1.0]])
    t, t_next, a = 0.6, 0.4, 0.5
    s2 = a**2 * t / (1 - t)  # sigma_t^2 = 0.375
    dt = -0.2
    # mean = x + (v + s2 / (2t) (x + (1 - t) v)) dt, per coordinate
    mean = [xi + (vi + s2 / (2 * t) * (xi + (1 - t) * vi)) * dt
            for xi, vi in ((0.5, 2.0), (-1.0, 1.0))]
    std = math.sqrt(s2 * 0.2)
    nxt = torch.tensor([[0.3, -1.1]])
    step = sde_step(x, v, t, t_next, a, sample=nxt)
    assert step.mean.tolist() == [pytest.approx(mean)]
    assert step.std.item() == pytest.approx(std)
    lp = [-((n - m) ** 2) / (2 * std**2) - math.log(std) - 0.5 * math.log(2 * math.pi)
          for n, m in zip((0.3, -1.1), mean, strict=True)]
    assert step.log_prob.item() == pytest.approx(sum(lp) / 2)  # averaged over dimensions
    assert torch.equal(step.sample, nxt)


def test_sde_first_step_from_t_one_takes_t_next_in_the_denominator():
    x, v = torch.tensor([[1.0]]), torch.tensor([[-2.0]])
    step = sde_step(x, v, 1.0, 0.9, 0.7, sample=torch.zeros(1, 1))
    s2 = 0.49 / (1 - 0.9)  # sigma^2 = a^2 * 1 / (1 - t_next)
    assert step.std.item() == pytest.approx(math.sqrt(s2 * 0.1))
    # at t = 1 the score term is sigma^2 / 2 * x (the (1 - t) v part vanishes)
    assert step.mean.item() == pytest.approx(1.0 + (-2.0 + s2 / 2 * 1.0) * -0.1)


def _gaussian_data_velocity(c: float):
    """Exact velocity E[eps - x0 | x_t] for data x0 ~ N(0, c^2)."""
    def v(x, t, cond, w=None):
        t = t.reshape(-1, *([1] * (x.dim() - 1)))
        return x * (t - (1 - t) * c**2) / ((1 - t) ** 2 * c**2 + t**2)
    return v


@pytest.mark.parametrize("noise_level", [0.3, 0.7])
def test_sde_rollout_keeps_the_data_marginal(noise_level):
    # with the exact velocity, SDE samples keep the ODE's marginals: N(0, t^2 + (1 - t)^2 c^2)
    c, steps = 0.5, 40
    noise = torch.randn(20000, 1, generator=torch.Generator().manual_seed(0))
    traj = sample_sde(_gaussian_data_velocity(c), noise, None, steps=steps,
                      noise_level=noise_level, generator=torch.Generator().manual_seed(1))
    t1 = 1 - 1 / steps
    assert traj.states[1].std().item() == pytest.approx(math.hypot(t1, (1 - t1) * c), rel=0.05)
    assert traj.states[-1].std().item() == pytest.approx(c, rel=0.05)


def test_ratio_clip_and_kl_against_hand_computed_values():
    new = torch.tensor([math.log(1.5), math.log(0.5), math.log(1.05)], requires_grad=True)
    old = torch.zeros(3)
    adv = torch.tensor([1.0, -1.0, 2.0])
    # per sample max(-A r, -A clip(r, .8, 1.2)): max(-1.5, -1.2), max(.5, .8), max(-2.1, -2.1)
    loss, frac = ppo_clipped(new, old, adv, 0.2)
    assert loss.item() == pytest.approx((-1.2 + 0.8 - 2.1) / 3)
    assert frac.item() == pytest.approx(2 / 3)
    loss.backward()  # only the unclipped third sample passes a gradient: -A r / 3
    assert new.grad.tolist() == pytest.approx([0.0, 0.0, -2 * 1.05 / 3])
    mean_new = torch.tensor([[0.3, 0.0], [0.0, -0.1]])
    # KL of N(mu, s^2) to N(mu_ref, s^2) per dimension (mu - mu_ref)^2 / 2 s^2, s = 0.1:
    # sample means (4.5 + 0) / 2 and (0 + 0.5) / 2 -> batch mean 1.25
    assert step_kl(mean_new, torch.zeros(2, 2), 0.1).item() == pytest.approx(1.25)
    terms = grpo_loss(torch.zeros(2), torch.zeros(2), torch.tensor([1.0, 1.0]), mean_new,
                      torch.zeros(2, 2), 0.1, clip_range=0.2, beta=0.1)
    assert terms.loss.item() == pytest.approx(-1.0 + 0.1 * 1.25)


def test_grpo_update_raises_a_linear_reward_in_the_gauss_world():
    world = GaussWorld([[1.0, 0.0], [0.0, 1.0]])
    cfg = TrainConfig(
        loss="grpo", scalarisation="early", w_sampler="fixed", w_fixed=(1.0, 0.0),
        w_conditioned=False, full_finetune=True, epochs=10, lr=3e-4, K=4, G=16,
        sampling_steps=8, steps_per_epoch=2, minibatch=256, clip_range=0.2, kl_beta=0.0,
        noise_level=0.7, progress=False,
    )
    tr = Trainer(make_base_model(), world.rewards(), world.prompts, cfg)
    tr.train()
    noise = torch.randn(2048, 2, generator=torch.Generator().manual_seed(5))
    cond = tr.policy.encode_prompts(world.prompts * 2048)
    with torch.no_grad():
        tuned = sample_ode(tr.policy, noise, cond, None, 8).mean(0)
        base = sample_ode(tr.state.reference, noise, cond, None, 8).mean(0)
    shift = tuned - base
    assert shift[0] > 0.2, shift  # the mean moved up along the rewarded direction a_0 = e1
    assert abs(shift[1]) < shift[0] / 2, shift  # and much less across it
