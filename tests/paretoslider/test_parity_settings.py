"""Settings that follow the authors' recipe: time grid and trained timesteps, DPM-2 rollout,
repeated preference slots, the evaluation EMA and the rollout policy (known answers)."""
from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch

from paretoslider.preferences import make_w_sampler
from paretoslider.samplers import SamplerSettings, dpm2_step, sample_ode, timesteps
from paretoslider.trainer import TrainConfig, Trainer
from paretoslider.trainer.config import HASHED_WHEN_SET, config_hash
from paretoslider.trainer.state import eval_ema_decay
from paretoslider.trainer.update import draw_timesteps
from paretoslider.worlds.gauss import GaussWorld, make_base_model

torch.set_num_threads(1)
WORLD = GaussWorld([[1.0, 0.0], [0.0, 1.0]])


def shift3(u):
    return 3 * u / (1 + 2 * u)


def test_new_settings_leave_the_hash_of_every_older_config_unchanged():
    # values computed before these settings existed: cached runs keep their keys
    assert config_hash(TrainConfig()) == "a52eeb2a1f95a2b6"
    assert config_hash(TrainConfig(K=2, G=4, lr=1e-3), {"a": 1}) == "490bc12d7294fffc"
    changed = {"time_grid": "scheduler", "timestep_selection": "random", "solver": "dpm2",
               "rollout_policy": "old", "distinct_slots": False, "block_projector": "authors",
               "mixed_precision": True, "eval_ema": True}
    assert set(changed) | {"init_lora"} == set(HASHED_WHEN_SET)
    hashes = {config_hash(TrainConfig(**{k: v})) for k, v in changed.items()}
    assert len(hashes) == len(changed) and "a52eeb2a1f95a2b6" not in hashes


def test_scheduler_grid_is_sd3s_double_shifted_grid():
    # FlowMatchEuler: linspace(1, s(1/1000), n), shifted once more, then a final 0
    top = np.linspace(1.0, shift3(1e-3), 4)
    expect = [shift3(u) for u in top] + [0.0]
    assert torch.allclose(timesteps(4, 3.0, "scheduler"), torch.tensor(expect, dtype=torch.float32))
    grid = timesteps(25, 3.0, "scheduler")
    assert len(grid) == 26 and grid[0] == 1.0 and abs(grid[-2].item() - 0.0089286) < 1e-6
    # the uniform grid's 24th time (the last trained one) is s(2/25) = 0.2069
    assert abs(timesteps(25, 3.0)[23].item() - shift3(2 / 25)) < 1e-6


def test_leading_selection_trains_the_first_24_times_random_any_24_of_25():
    gen = torch.Generator().manual_seed(0)
    lead = draw_timesteps(TrainConfig(sampling_steps=25, shift=3.0), 50, gen)
    uniform = timesteps(25, 3.0)
    assert lead.shape == (50, 24)
    assert all(torch.equal(row.sort().values, uniform[:24].sort().values) for row in lead)
    cfg = TrainConfig(sampling_steps=25, shift=3.0, time_grid="scheduler",
                      timestep_selection="random")
    drawn = draw_timesteps(cfg, 50, gen)
    sched = timesteps(25, 3.0, "scheduler")[:25]
    assert drawn.shape == (50, 24) and cfg.timestep_pool() == 25
    for row in drawn:  # 24 distinct times of the 25, so exactly one is left out
        assert len(set(row.tolist())) == 24 and set(row.tolist()) <= set(sched.tolist())
    left_out = {(set(sched.tolist()) - set(row.tolist())).pop() for row in drawn}
    assert len(left_out) > 10 and drawn.min().item() == sched[-1].item()  # t = 0.0089 trained


def test_timesteps_per_sample_draws_from_the_whole_grid_when_random():
    cfg = TrainConfig(sampling_steps=10, timesteps_per_sample=2, timestep_selection="random")
    drawn = draw_timesteps(cfg, 400, torch.Generator().manual_seed(1))
    assert drawn.shape == (400, 2) and abs(drawn.min().item() - 0.1) < 1e-6  # 9 + 1 = 10 times


def _velocity(x, t, cond=None, w=None):
    return torch.cos(3 * t).view(-1, 1) * x + t.view(-1, 1) ** 2


def test_dpm2_matches_diffusers_multistep_scheduler_step_by_step():
    from diffusers import DPMSolverMultistepScheduler

    steps, x = 6, torch.randn(3, 4, generator=torch.Generator().manual_seed(2))
    grid = timesteps(steps, 3.0, "scheduler")
    sched = DPMSolverMultistepScheduler(
        algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint",
        prediction_type="flow_prediction", use_flow_sigmas=True, final_sigmas_type="zero",
        lower_order_final=True)
    sched.set_timesteps(steps)
    sched.sigmas = grid.clone()  # the same grid on both sides
    sched.timesteps = torch.arange(steps, 0, -1)
    ours, ref, x0_prev, t_prev = x.clone(), x.clone(), None, None
    for i, (t, t_next) in enumerate(pairwise(grid.tolist())):
        tt = torch.full((3,), t)
        v = _velocity(ours, tt)
        ours, x0_prev, t_prev = dpm2_step(ours, v, t, t_next, x0_prev, t_prev), ours - t * v, t
        ref = sched.step(_velocity(ref, tt), sched.timesteps[i], ref).prev_sample
        assert torch.allclose(ours, ref, atol=1e-5), i
    euler = sample_ode(_velocity, x, None, steps=steps, shift=3.0, grid="scheduler")
    dpm = sample_ode(_velocity, x, None, steps=steps, shift=3.0, grid="scheduler", solver="dpm2")
    assert torch.allclose(dpm, ours, atol=1e-6) and (dpm - euler).abs().max() > 1e-3


def test_a_models_own_sampler_settings_are_used_when_the_caller_names_none():
    class Model:
        sampler_settings = SamplerSettings(shift=3.0, grid="scheduler", solver="dpm2")

        def __call__(self, x, t, cond, w):
            return _velocity(x, t)

    x = torch.randn(2, 4, generator=torch.Generator().manual_seed(3))
    own = sample_ode(Model(), x, None, steps=5)
    assert torch.equal(own, sample_ode(_velocity, x, None, None, 5, 3.0, "scheduler", "dpm2"))
    assert torch.equal(sample_ode(Model(), x, None, None, 5, 1.0, "uniform", "euler"),
                       sample_ode(_velocity, x, None, steps=5))
    with pytest.raises(ValueError, match="unknown solver 'rk4'"):
        SamplerSettings(solver="rk4")


def test_repeated_slots_share_matches_the_closed_form_at_three_objectives():
    # two vertex slots repeat w.p. 1/3, three w.p. 1 - 3!/27: 3/8 * 1/3 + 1/8 * 7/9 = 2/9
    prompts = [f"p{i}" for i in range(3000)]
    free = make_w_sampler("structured", 3, seed=0, distinct=False)
    ws = [free(p, 0, 3) for p in prompts]
    repeats = np.mean([len({tuple(r.tolist()) for r in w}) < 3 for w in ws])
    assert abs(repeats - 2 / 9) < 0.03  # 4 binomial standard deviations
    vertex = np.mean([(w == 1).any(dim=1).float().mean().item() for w in ws])
    assert abs(vertex - 0.5) < 0.02
    kept = make_w_sampler("structured", 3, seed=0)
    assert all(len({tuple(r.tolist()) for r in kept(p, 0, 3)}) == 3 for p in prompts[:300])
    assert torch.equal(kept("p0", 0, 3)[0], ws[0][0])  # the same first draw


def test_eval_ema_decay_sequence():
    assert [eval_ema_decay(s) for s in (1, 2, 3)] == [2 / 11, 3 / 12, 4 / 13]
    assert eval_ema_decay(79) == 80 / 89 and eval_ema_decay(80) == 0.9 == eval_ema_decay(10**6)


def _trainer(**kw):
    cfg = TrainConfig(epochs=2, K=2, G=4, sampling_steps=4, full_finetune=True, progress=False,
                      lr=1e-2, **kw)
    return Trainer(make_base_model(), WORLD.rewards(), ["p0", "p1"], cfg)


def test_eval_ema_follows_the_recurrence_is_evaluated_and_checkpointed(tmp_path):
    tr = _trainer(eval_ema=True)
    names = tr.state.trainable
    seen = [{n: p.detach().clone() for n, p in tr.state.policy.named_parameters()}]
    for _ in range(2):
        tr.train_epoch()
        seen.append({n: p.detach().clone() for n, p in tr.state.policy.named_parameters()})
    avg = {n: seen[0][n] for n in names}
    for s in (1, 2):  # one optimizer step per epoch
        d = eval_ema_decay(s)
        avg = {n: avg[n] + (1 - d) * (seen[s][n] - avg[n]) for n in names}
    evaluated = dict(tr.policy.named_parameters())
    assert tr.policy is not tr.state.policy
    assert all(torch.allclose(evaluated[n], avg[n], atol=1e-6) for n in names)
    assert any(not torch.equal(evaluated[n], seen[2][n]) for n in names)
    tr.save(tmp_path / "ckpt")
    back = _trainer(eval_ema=True)
    back.load(tmp_path / "ckpt")
    assert all(torch.equal(back.state.eval_ema[n], tr.state.eval_ema[n]) for n in names)
    tr.save_snapshot(tmp_path / "ckpt", 0.5)
    assert all(torch.equal(tr.snapshot_weights[0.5][n], tr.state.eval_ema[n]) for n in names)
    plain = _trainer()
    assert plain.policy is plain.state.policy and plain.state.eval_ema is None


def test_rollout_policy_old_samples_with_the_ema_old_policy_except_for_grpo():
    tr = _trainer(rollout_policy="old")
    assert tr._rollout_model() is tr.state.old
    plain = _trainer()
    assert plain._rollout_model() is plain.state.policy
    grpo = _trainer(rollout_policy="old", loss="grpo", scalarisation="early")
    assert grpo._rollout_model() is grpo.state.policy


@pytest.mark.parametrize("bad, message", [
    ({"time_grid": "karras"}, "unknown time_grid"), ({"solver": "heun"}, "unknown solver"),
    ({"timestep_selection": "last"}, "unknown timestep_selection"),
    ({"rollout_policy": "ref"}, "unknown rollout_policy"),
    ({"block_projector": "big"}, "unknown block_projector"),
    ({"eval_ema": "yes"}, "eval_ema must be true or false"),
    ({"init_lora": "/nonexistent/lora"}, "does not exist"),
])
def test_bad_settings_are_one_line_errors(bad, message):
    with pytest.raises(ValueError, match=message) as info:
        TrainConfig(**bad)
    assert "\n" not in str(info.value)
