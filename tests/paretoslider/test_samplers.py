import math

import torch

from paretoslider import samplers


def linear_velocity(x, t, cond, w=None):
    return 0.5 * x + 1.0


def test_timesteps_run_from_one_to_zero_and_shift_warps_them():
    t = samplers.timesteps(4)
    assert torch.allclose(t, torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0]))
    ts = samplers.timesteps(4, shift=3.0)
    assert ts[0] == 1 and ts[-1] == 0 and ts[2] == 0.75  # 3 * .5 / (1 + 2 * .5)


def test_sde_with_zero_noise_equals_the_euler_step():
    x = torch.randn(3, 2, 4, 4)
    v = linear_velocity(x, None, None)
    step = samplers.sde_step(x, v, 0.6, 0.4, noise_level=0.0)
    assert torch.allclose(step.sample, samplers.euler_step(x, v, 0.6, 0.4))


def test_log_prob_of_a_known_gaussian_step_is_exact():
    x = torch.zeros(1, 1, 1, 2)
    v = torch.zeros_like(x)
    t, t_next, a = 0.5, 0.25, 0.7
    step = samplers.sde_step(x, v, t, t_next, a, sample=torch.tensor([[[[0.1, -0.2]]]]))
    sigma = a * math.sqrt(t / (1 - t))
    std = sigma * math.sqrt(t - t_next)
    assert torch.allclose(step.mean, x)  # x = v = 0: the mean stays at 0
    expected = sum(-(s**2) / (2 * std**2) - math.log(std) - 0.5 * math.log(2 * math.pi) for s in (0.1, -0.2)) / 2
    assert abs(step.log_prob.item() - expected) < 1e-5


def test_ode_sampling_of_a_constant_velocity_is_exact():
    noise = torch.randn(2, 3)
    x0 = samplers.sample_ode(lambda x, t, c, w: torch.ones_like(x), noise, None, steps=7)
    assert torch.allclose(x0, noise - 1)  # integrates dx/dt = 1 from t = 1 to 0


def test_sde_rollout_records_every_state_and_log_prob():
    gen = torch.Generator().manual_seed(0)
    traj = samplers.sample_sde(linear_velocity, torch.randn(4, 3), None, steps=5, generator=gen)
    assert traj.states.shape == (6, 4, 3) and traj.log_probs.shape == (5, 4)
    assert torch.isfinite(traj.log_probs).all()
