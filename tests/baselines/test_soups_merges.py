"""Soups and merges against closed forms on random LoRAs (rank 2, scale alpha / r = 2)."""
from __future__ import annotations

import pytest
import torch
from baseline_helpers import lora_model, outputs, tiny_ctx, tiny_model

from baselines.lora_weights import delta_weights, lora_layers, peft_merge
from paretoslider.methods import METHODS

SCALE = 2.0
EXACT = ["rewarded_soups", "rewarded_soups_delta", "merging_linear", "merging_svd",
         "merging_cat"]


@pytest.fixture(scope="module")
def world():
    base = tiny_model()
    models = [lora_model(base, 1), lora_model(base, 2)]
    return base, models, {"single_photo": models[0], "single_sketch": models[1]}


def policy_model(name, world, w, **options):
    base, _, trained = world
    ctx = tiny_ctx()
    ctx.options = options
    return METHODS.get(name)().policy(ctx, trained, base, w)


def factors(model):
    return {n: (m.lora_A["default"].weight, m.lora_B["default"].weight)
            for n, m in lora_layers(model).items()}


def weight_change(model, base):
    """W_model - W_base of every Linear that carries LoRA in the ingredients."""
    base_params = dict(base.named_parameters())
    return {n: dict(model.named_parameters())[n + ".weight"] - base_params[n + ".weight"]
            for n in factors(lora_model(base, 0))}


@pytest.mark.parametrize("name", EXACT)
@pytest.mark.parametrize("vertex", [0, 1])
def test_vertex_reproduces_single_reward_model(world, name, vertex):
    w = (1.0, 0.0) if vertex == 0 else (0.0, 1.0)
    got = outputs(policy_model(name, world, w).model)
    want = outputs(world[1][vertex])
    assert torch.allclose(got, want, atol=1e-5)
    assert not torch.allclose(want, outputs(world[0]), atol=1e-3)  # the LoRA matters


def test_cat_folds_the_exact_sum_of_weight_changes(world):
    base, models, _ = world
    w = (0.3, 0.7)
    delta = weight_change(policy_model("merging_cat", world, w).model, base)
    f = [factors(m) for m in models]
    for n, d in delta.items():
        want = sum(wm * SCALE * fm[n][1] @ fm[n][0] for wm, fm in zip(w, f))
        assert torch.allclose(d, want, atol=1e-6), n


def test_delta_soup_and_full_rank_svd_equal_cat(world):
    w = (0.3, 0.7)
    cat = outputs(policy_model("merging_cat", world, w).model)
    soup = outputs(policy_model("rewarded_soups_delta", world, w).model)
    svd = outputs(policy_model("merging_svd", world, w, merging_svd={"svd_rank": 4}).model)
    low = outputs(policy_model("merging_svd", world, w).model)  # rank 2 truncates rank 4
    assert torch.allclose(soup, cat, atol=1e-5)
    assert torch.allclose(svd, cat, atol=1e-5)
    assert not torch.allclose(low, cat, atol=1e-4)


def test_factor_soup_averages_a_and_b_separately(world):
    base, models, _ = world
    w = (0.5, 0.5)
    factor = policy_model("rewarded_soups", world, w).model
    f = [factors(m) for m in models]
    for n, (a, b) in factors(factor).items():
        assert torch.equal(a, 0.5 * f[0][n][0] + 0.5 * f[1][n][0])
        assert torch.equal(b, 0.5 * f[0][n][1] + 0.5 * f[1][n][1])
    exact = policy_model("rewarded_soups_delta", world, w).model
    soup_delta = delta_weights(factor)
    exact_delta = weight_change(exact, base)
    gap = max((soup_delta[n] - exact_delta[n]).abs().max().item() for n in exact_delta)
    assert gap > 1e-2  # cross terms B_1 A_2 + B_2 A_1 survive in the factor soup
    assert (outputs(factor) - outputs(exact)).abs().max() > 1e-3


def test_linear_merge_is_a_product_of_square_root_weighted_factor_sums(world):
    base, models, _ = world
    w = (0.3, 0.7)
    delta = weight_change(policy_model("merging_linear", world, w).model, base)
    f = [factors(m) for m in models]
    for n, d in delta.items():
        a = sum((wm * SCALE) ** 0.5 * fm[n][0] for wm, fm in zip(w, f))
        b = sum((wm * SCALE) ** 0.5 * fm[n][1] for wm, fm in zip(w, f))
        assert torch.allclose(d, b @ a, atol=1e-6), n


def test_ties_and_dare_ties_at_density_one_reduce_to_linear(world):
    base = world[0]
    same_sign = [lora_model(base, s) for s in (3, 4)]
    with torch.no_grad():  # every factor entry positive: the sign election keeps them all
        for m in same_sign:
            for n, p in m.named_parameters():
                if "lora_" in n:
                    p.abs_()
    w = (0.3, 0.7)
    ties, _ = peft_merge(base, same_sign, w, "ties", density=1.0)
    dare, _ = peft_merge(base, same_sign, w, "dare_ties", density=1.0)
    # each factor becomes the mean over M = 2 agreeing runs: linear at w / M^2
    linear, _ = peft_merge(base, same_sign, [x / 4 for x in w], "linear")
    assert torch.allclose(outputs(ties), outputs(linear), atol=1e-6)
    assert torch.allclose(outputs(dare), outputs(linear), atol=1e-6)
    # with mixed signs dare_ties at density 1 still equals ties (no pruning, same election)
    mixed_t = policy_model("merging_ties", world, w, merging={"density": 1.0}).model
    mixed_d = policy_model("merging_dare_ties", world, w, merging={"density": 1.0}).model
    assert torch.allclose(outputs(mixed_t), outputs(mixed_d), atol=1e-6)


def test_lambda_scales_the_merged_change_and_merges_report_their_time(world):
    base, models, _ = world
    p = policy_model("merging_cat", world, (1.0, 0.0), merging_cat={"lambda": 0.5})
    half = weight_change(p.model, base)
    full = delta_weights(models[0])
    assert all(torch.allclose(half[n], 0.5 * full[n], atol=1e-6) for n in full)
    assert p.switch_seconds > 0
    assert not lora_layers(p.model)  # folded: inference costs what the base model costs


def test_dare_ties_is_deterministic_per_w_and_rejects_unknown_options(world):
    a = outputs(policy_model("merging_dare_ties", world, (0.4, 0.6)).model)
    b = outputs(policy_model("merging_dare_ties", world, (0.4, 0.6)).model)
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="unknown options"):
        policy_model("merging_ties", world, (0.5, 0.5), merging={"densty": 0.3})


def test_merges_and_soups_share_the_single_reward_runs():
    ctx = tiny_ctx(budget=10**6)
    keys = {name: [u.key() for u in METHODS.get(name)().units(ctx)]
            for name in EXACT + ["merging_ties", "merging_dare_ties"]}
    assert len({tuple(k) for k in keys.values()}) == 1
    assert [u.label for u in METHODS.get("rewarded_soups")().units(ctx)] == [
        "single_photo", "single_sketch"]
