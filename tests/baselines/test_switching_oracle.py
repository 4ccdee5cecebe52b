"""Switching reuses the soups' runs; the oracle trains one full-budget run per evaluation w;
rewarded_soups_delta, merging_cat and merging_svd at rank M r give the same weights."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from baseline_helpers import lora_model, tiny_ctx, tiny_model

from paretoslider.methods import METHODS, MixturePolicy

GRID = [(1.0, 0.0), (0.75, 0.25), (0.5, 0.5), (0.25, 0.75), (0.0, 1.0)]


def test_switching_mixes_the_single_reward_runs_with_probability_w():
    ctx = tiny_ctx(budget=400)
    units = METHODS.get("switching")().units(ctx)
    assert [u.key() for u in units] == [u.key() for u in METHODS.get("rewarded_soups")().units(ctx)]
    trained = {"single_photo": "photo model", "single_sketch": "sketch model"}
    policy = METHODS.get("switching")().policy(ctx, trained, None, (0.3, 0.7))
    assert isinstance(policy, MixturePolicy) and policy.probs == (0.3, 0.7)
    assert [c.model for c in policy.components] == ["photo model", "sketch model"]
    assert all(c.w is None for c in policy.components)
    assert METHODS.get("switching").w_dependent


@pytest.mark.parametrize("regime", ["per_model", "equal_total"])
def test_oracle_trains_one_full_budget_run_per_evaluation_w(regime):
    ctx = replace(tiny_ctx(budget=240, regime=regime), eval_grid=GRID)
    units = METHODS.get("oracle")().units(ctx)
    assert [u.cfg.w_fixed for u in units] == GRID
    assert all(u.cfg.budget_passes == 240 and not u.cfg.w_conditioned for u in units)
    assert len({u.key() for u in units}) == len(GRID)
    trained = {u.label: i for i, u in enumerate(units)}
    oracle = METHODS.get("oracle")()
    assert [oracle.policy(ctx, trained, None, w).model for w in GRID] == list(range(5))
    with pytest.raises(ValueError, match="evaluation grid"):
        oracle.units(tiny_ctx(budget=240))


def _weights(model) -> dict[str, torch.Tensor]:
    return {n: p.detach() for n, p in model.named_parameters()}


def test_delta_soup_cat_and_full_rank_svd_fold_identical_weights():
    base = tiny_model()
    trained = {"single_photo": lora_model(base, 1), "single_sketch": lora_model(base, 2)}
    ctx = tiny_ctx()
    ctx.options = {"merging_svd": {"svd_rank": 2 * 2}}  # M r: 2 runs of rank 2
    w = (0.3, 0.7)
    soup, cat, svd = (_weights(METHODS.get(n)().policy(ctx, trained, base, w).model)
                      for n in ("rewarded_soups_delta", "merging_cat", "merging_svd"))
    assert soup.keys() == cat.keys() == svd.keys()
    changed = [n for n in soup if not torch.equal(soup[n], _weights(base)[n])]
    assert changed  # the merge moved the LoRA-carrying weights
    for n in soup:
        assert torch.allclose(soup[n], cat[n], atol=1e-6), n
        assert torch.allclose(soup[n], svd[n], atol=1e-5), n
    ctx.options = {}  # the default svd rank r truncates the rank-M r change
    low = _weights(METHODS.get("merging_svd")().policy(ctx, trained, base, w).model)
    assert max(float((low[n] - soup[n]).abs().max()) for n in changed) > 1e-3
