"""Budgets are honoured as counted by the trainer's Cost, and runs are trained once."""
from __future__ import annotations

import pytest
from baseline_helpers import PROMPTS, REWARDS, tiny_ctx, tiny_model

from baselines import BudgetError, mean_rewards, train_method
from paretoslider.methods import METHODS
from paretoslider.trainer import epoch_passes

EPOCH = 24  # 2 prompts x K 1 x G 2 = 4 images: 4 x 2 sampling steps + 4 x 1 visit x 4 passes


def run(name, ctx, **kw):
    return train_method(name, ctx, PROMPTS, tiny_model, REWARDS.__getitem__, **kw)


def test_epoch_size_of_the_tiny_config():
    assert epoch_passes(tiny_ctx().base_cfg, len(PROMPTS)) == EPOCH


@pytest.mark.parametrize("regime, per_unit", [("equal_total", 51), ("per_model", 154)])
def test_fixed_weight_stays_inside_its_budget(regime, per_unit):
    ctx = tiny_ctx(budget=154, regime=regime, epochs=100)
    result = run("fixed_weight", ctx)
    assert len(result.costs) == 3
    for cost in result.costs.values():
        assert 0 < cost.passes <= per_unit < cost.passes + EPOCH  # stopped by the budget
        assert cost.passes == cost.forward_passes + cost.backward_passes
    if regime == "equal_total":
        assert result.cost().passes <= 154
    assert result.cost().images == sum(c.images for c in result.costs.values())


def test_a_budget_below_one_epoch_is_refused_before_training():
    with pytest.raises(BudgetError, match="one epoch needs 24"):
        METHODS.get("fixed_weight")().units(tiny_ctx(budget=3 * EPOCH - 1))
    with pytest.raises(BudgetError, match="rewarded_soups"):
        METHODS.get("rewarded_soups")().units(tiny_ctx(budget=2 * EPOCH - 1))
    METHODS.get("fixed_weight")().units(tiny_ctx(budget=3 * EPOCH))  # exactly one epoch each


def test_flow_multi_is_one_static_grpo_model_on_an_early_sum(tmp_path):
    ctx = tiny_ctx(budget=60, epochs=100)
    ctx.options = {"flow_multi": {"w": [0.2, 0.8]}}
    method = METHODS.get("flow_multi")()
    (unit,) = method.units(ctx)
    assert (unit.cfg.loss, unit.cfg.scalarisation, unit.cfg.w_fixed) == ("grpo", "early", (0.2, 0.8))
    assert not unit.cfg.w_conditioned and not method.w_dependent
    result = run("flow_multi", ctx)
    grpo_epoch = 4 * 2 + 4 * 1 * 3  # sampling + (policy, reference forward + backward)
    assert result.cost().passes == 3 * grpo_epoch  # 60 passes buy three epochs
    a, b = result.policy((1.0, 0.0)), result.policy((0.0, 1.0))
    assert a.model is b.model and a.w is None


def test_shared_runs_are_trained_once_and_resume_from_the_cache(tmp_path):
    ctx = tiny_ctx(budget=100, epochs=100)
    memo = {}
    soups = run("rewarded_soups", ctx, memo=memo, cache_dir=tmp_path)
    merged = run("merging_cat", ctx, memo=memo)
    assert len(memo) == 2
    assert all(merged.models[k] is soups.models[k] for k in soups.models)
    again = run("rewarded_soups", ctx, cache_dir=tmp_path)  # fresh memo: loads checkpoints
    assert again.cost().passes == soups.cost().passes == 2 * 2 * EPOCH
    values = mean_rewards(merged.policy((0.5, 0.5)), PROMPTS, list(REWARDS.values()),
                          samples_per_prompt=2, steps=2)
    assert len(values) == 2 and all(0.0 <= v <= 1.0 for v in values)
    assert merged.policy((0.5, 0.5)).switch_seconds > 0
