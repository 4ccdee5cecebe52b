from __future__ import annotations

import copy
from dataclasses import replace

import torch
from baseline_helpers import PROMPTS, REWARDS, tiny_ctx, tiny_model

from paretoslider.methods import METHODS
from paretoslider.trainer import train


def trained_params(cfg, base):
    trainer = train(copy.deepcopy(base), [REWARDS["photo"], REWARDS["sketch"]], PROMPTS, cfg)
    assert trainer.epoch == 1
    return {n: p.detach().clone() for n, p in trainer.policy.named_parameters()}


def test_units_follow_the_grid_and_the_slider_config_without_conditioning():
    ctx = tiny_ctx(budget=900)
    units = METHODS.get("fixed_weight")().units(ctx)
    assert [u.label for u in units] == ["fixed_w1-0", "fixed_w0.5-0.5", "fixed_w0-1"]
    slider = METHODS.get("paretoslider")().units(ctx)[0].cfg
    for u, w in zip(units, ctx.fixed_grid):
        assert u.cfg.budget_passes == 300  # equal total compute: 900 over 3 runs
        assert u.cfg == replace(slider, w_conditioned=False, w_sampler="fixed", w_fixed=w,
                                budget_passes=300)


def test_one_epoch_equals_the_unconditioned_slider_trainer_with_the_same_seed():
    ctx, base = tiny_ctx(seed=7), tiny_model()
    unit = METHODS.get("fixed_weight")().units(ctx)[1]
    slider = METHODS.get("paretoslider")().units(ctx)[0].cfg
    fixed = trained_params(unit.cfg, base)
    unconditioned = trained_params(
        replace(slider, w_conditioned=False, w_sampler="fixed", w_fixed=(0.5, 0.5)), base)
    assert fixed.keys() == unconditioned.keys()
    assert all(torch.equal(fixed[n], unconditioned[n]) for n in fixed)
    start = dict(base.named_parameters())
    moved = [n for n in fixed if "lora_B" in n and not torch.equal(fixed[n], torch.zeros_like(fixed[n]))]
    assert moved  # LoRA B starts at zero: one step moved it
    assert all("lora_" in n or torch.equal(fixed[n], start[n]) for n in fixed if n in start)
    other = trained_params(METHODS.get("fixed_weight")().units(ctx)[0].cfg, base)
    assert any(not torch.equal(fixed[n], other[n]) for n in moved)  # w changes the update


def test_policy_uses_the_nearest_training_point_without_w():
    ctx = tiny_ctx()
    trained = {"fixed_w1-0": "a", "fixed_w0.5-0.5": "b", "fixed_w0-1": "c"}
    pick = METHODS.get("fixed_weight")().policy
    got = [pick(ctx, trained, None, (w1, 1 - w1)).model for w1 in (1.0, 0.8, 0.7, 0.3, 0.2, 0.0)]
    assert got == ["a", "a", "b", "b", "c", "c"]
    assert pick(ctx, trained, None, (0.5, 0.5)).w is None
