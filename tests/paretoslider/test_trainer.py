import copy

import pytest
import torch

from paretoslider.backbones.base import repeat_cond
from paretoslider.samplers import sample_ode
from paretoslider.trainer import (
    TrainConfig,
    Trainer,
    advantages,
    epoch_passes,
    sample,
    score,
    to_unit_images,
    update,
)
from paretoslider.trainer.update import nft_minibatch_loss
from paretoslider.worlds.gauss import GaussWorld, make_base_model

torch.set_num_threads(1)
WORLD = GaussWorld([[1.0, 0.0], [0.0, 1.0]])


def _cfg(**kw):
    base = {
        "epochs": 1, "K": 2, "G": 4, "sampling_steps": 4, "full_finetune": True,
        "progress": False, "lr": 1e-3,
    }
    return TrainConfig(**(base | kw))


def _trainer(**kw):
    return Trainer(make_base_model(), WORLD.rewards(), ["p0", "p1"], _cfg(**kw))


def _changed(before, after) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_sample_layout_shapes_and_determinism():
    tr = _trainer()
    ws = torch.tensor([[[1.0, 0.0], [0.5, 0.5]], [[0.2, 0.8], [0.0, 1.0]]])  # (P=2, K=2, M=2)
    ro = sample(tr.policy, ["p0", "p1"], ws, G=3, steps=4, generator=_gen())
    assert ro.x0.shape == (12, 2) and ro.noise.shape == (12, 2) and ro.size == 12
    assert ro.groups.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert ro.prompts == ["p0"] * 6 + ["p1"] * 6
    assert ro.w[3].tolist() == [0.5, 0.5] and ro.w[6].tolist() == pytest.approx([0.2, 0.8])
    again = sample(tr.policy, ["p0", "p1"], ws, G=3, steps=4, generator=_gen())
    assert torch.equal(ro.x0, again.x0)  # seeded noise
    chunked = sample(tr.policy, ["p0", "p1"], ws, G=3, steps=4, generator=_gen(), chunk=5)
    assert torch.allclose(ro.x0, chunked.x0, atol=1e-6)  # chunks change only float rounding
    other = sample(tr.policy, ["p0", "p1"], ws, G=3, steps=4, generator=_gen(1))
    assert not torch.equal(ro.x0, other.x0)
    expect = sample_ode(tr.policy, ro.noise, ro.cond, ro.w, 4)
    assert torch.equal(ro.x0, expect)


def test_sample_sde_keeps_trajectory_and_counts_cost():
    tr = _trainer()
    ws = torch.tensor([[[1.0, 0.0], [0.5, 0.5]]])
    ro = sample(tr.policy, ["p0"], ws, 3, 4, _gen(), sde=True, cost=tr.cost)
    assert ro.traj.states.shape == (5, 6, 2) and ro.traj.log_probs.shape == (4, 6)
    assert torch.equal(ro.traj.states[-1], ro.x0)
    assert (tr.cost.forward_passes, tr.cost.images) == (24, 6)


def test_score_shapes_decode_and_errors():
    x0 = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    r = score(x0, ["a", "b"], WORLD.rewards(), decode=WORLD.decode)
    assert r.tolist() == [[1.0, 2.0], [3.0, -1.0]]
    assert to_unit_images(torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0])).tolist() == [0, 0, 0.5, 1, 1]
    seen = []
    score(x0, ["a", "b"], [lambda im, p: seen.append(im) or im.sum(1)])
    assert seen[0].tolist() == [[1.0, 1.0], [1.0, 0.0]]  # default decode clamps to [-1, 1]
    with pytest.raises(ValueError, match=r"expected \(2,\)"):
        score(x0, ["a", "b"], [lambda im, p: im])


def test_advantages_forms():
    r = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 1.0], [2.0, 1.0]])
    w = torch.tensor([[0.25, 0.75]] * 2 + [[1.0, 0.0]] * 2)
    g = torch.tensor([0, 0, 1, 1])
    k = 1 / (1 + 1e-4)
    late = advantages(r, w, g)
    assert late.adv.tolist() == [
        pytest.approx([-k, -k]), pytest.approx([k, k]), pytest.approx([-k, 0]),
        pytest.approx([k, 0]),
    ]
    assert torch.equal(late.weights, w) and late.zero_std_frac == 0.25
    assert late.scalar().tolist() == pytest.approx([-k, k, -k, k])
    early = advantages(r, w, g, scalarisation="early")
    # group 0 sums (0.25, 2.25): +-1 std; group 1 sums (0, 2): +-1 std
    assert early.adv.flatten().tolist() == pytest.approx([-k, k, -k, k])
    assert early.weights.tolist() == [[1.0]] * 4
    single = advantages(r, w, g, loss="nft_single")
    assert single.adv.shape == (4, 1)
    assert single.adv.flatten().tolist() == pytest.approx([-1, 1, -1, 1], abs=1e-3)


def _fixed_loss(tr, ro, adv, old):
    state = copy.copy(tr.state)
    state.old = old
    g = _gen(5)
    total = 0.0
    with torch.no_grad():
        for t in (0.25, 0.5, 0.75, 1.0):
            eps = torch.randn(ro.x0.shape, generator=g)
            tt = torch.full((ro.size,), t)
            total += nft_minibatch_loss(
                state, ro.x0, ro.cond, ro.w, adv.adv, adv.weights, tt, eps, tr.cfg
            ).item()
    return total


def test_update_changes_parameters_and_reduces_nft_loss():
    tr = _trainer(lr=1e-4, K=4, G=16)
    ws = tr.w_sampler("p0", 0, 4)[None]
    ro = sample(tr.policy, ["p0"], ws, 16, 4, _gen())
    adv = advantages(score(ro.x0, ro.prompts, tr.rewards, tr.decode), ro.w, ro.groups)
    old = copy.deepcopy(tr.state.old)
    before_params = [p.clone() for p in tr.state.trainable_parameters()]
    before = _fixed_loss(tr, ro, adv, old)
    stats = update(tr.state, ro, adv, tr.cfg, _gen(3), tr.cost)
    after = _fixed_loss(tr, ro, adv, old)
    assert after < before
    assert _changed(before_params, tr.state.trainable_parameters())
    assert tr.state.step == 1 and tr.cost.optimizer_steps == 1 and stats["loss"] > 0
    # 64 samples x 3 train timesteps: policy + old + reference forwards, one backward
    assert (tr.cost.forward_passes, tr.cost.backward_passes) == (64 * 3 * 3, 64 * 3)


def test_epoch_cost_matches_estimate_and_budget_stops():
    tr = _trainer(steps_per_epoch=2, minibatch=5)
    per_epoch = epoch_passes(tr.cfg, 2)
    assert per_epoch == 16 * 4 + 16 * 3 * 4  # sampling + 3 timesteps x (3 fwd + 1 bwd)
    tr.train_epoch()
    assert tr.cost.passes == per_epoch and tr.cost.optimizer_steps == 2 and tr.cost.images == 16
    tr = _trainer(budget_passes=2 * per_epoch + 1)
    tr.train(epochs=10)
    assert tr.epoch == 2 and tr.stopped_by_budget and tr.cost.passes <= 2 * per_epoch + 1
    with pytest.raises(ValueError, match="budget_passes must be > 0"):
        _cfg(budget_passes=0)


def test_fixed_weight_path_never_shows_w_to_the_policy():
    tr = _trainer(w_conditioned=False, w_sampler="fixed", w_fixed=(0.3, 0.7))
    assert tr.policy.preference is None and tr.policy.num_objectives is None
    tr.train_epoch()
    ws = tr.w_sampler("p0", 1, 2)[None]
    ro = sample(tr.policy, ["p0"], ws, 4, 4, _gen(), w_conditioned=False)
    assert ro.w.tolist() == [pytest.approx([0.3, 0.7])] * 8  # w stays in the loss weights
    cond = repeat_cond(tr.policy.encode_prompts(["p0"]), 8)
    assert torch.equal(ro.x0, sample_ode(tr.policy, ro.noise, cond, None, 4))


def test_lora_trains_only_adapters_and_preference():
    tr = _trainer(full_finetune=False, lora_rank=4, lora_alpha=8, lora_targets=("fc1", "fc2"))
    assert tr.state.trainable and all(
        "lora_" in n or n.startswith("preference.") for n in tr.state.trainable
    )
    frozen = {n: p.clone() for n, p in tr.policy.named_parameters() if not p.requires_grad}
    pref = [p.clone() for p in tr.policy.preference_parameters()]
    tr.train_epoch()
    assert all(torch.equal(p, frozen[n]) for n, p in tr.policy.named_parameters() if n in frozen)
    assert _changed(pref, tr.policy.preference_parameters())
    assert tr.state.reference.preference is None  # the reference is the untouched start model


@pytest.mark.parametrize("loss, scal", [("grpo", "late"), ("nft_single", "late"), ("nft", "early")])
def test_other_losses_run_one_epoch(loss, scal):
    tr = _trainer(loss=loss, scalarisation=scal)
    before = [p.clone() for p in tr.state.trainable_parameters()]
    rec = tr.train_epoch()
    assert set(rec["reward_mean"]) == {"linear0", "linear1"}
    assert tr.cost.passes == epoch_passes(tr.cfg, 2)
    assert _changed(before, tr.state.trainable_parameters())


def test_config_validation():
    with pytest.raises(ValueError, match="unknown loss"):
        _cfg(loss="ppo")
    with pytest.raises(ValueError, match="scalarisation 'late'"):
        _cfg(loss="nft_single", scalarisation="early")
    with pytest.raises(ValueError, match="needs w_fixed"):
        _cfg(w_sampler="fixed")
    assert _cfg(sampling_steps=10).train_timesteps() == 9
    assert _cfg(sampling_steps=25).train_timesteps() == 24
    assert _cfg(sampling_steps=10, timesteps_per_sample=4).timesteps_used() == 4


def test_rewards_scored_in_batches_are_the_same():
    from paretoslider.rewards import build_reward
    from paretoslider.trainer.steps import score
    from paretoslider.worlds.shapes import sample_batch

    batch = sample_batch(10, 4)
    x0 = batch.images * 2 - 1  # model space
    rewards = [build_reward("photo"), build_reward("size")]
    whole = score(x0, batch.prompts, rewards)
    assert torch.allclose(score(x0, batch.prompts, rewards, batch=3), whole, atol=1e-6)
