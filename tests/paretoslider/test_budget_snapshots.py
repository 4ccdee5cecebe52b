"""Runs end exactly at their budget (to within one group) and keep snapshots at fractions."""
import pytest
import torch

from paretoslider.checkpoint import load_snapshot
from paretoslider.trainer import TrainConfig, Trainer, epoch_passes, train
from paretoslider.trainer.loop import snapshot_path
from paretoslider.worlds.gauss import GaussWorld, make_base_model

torch.set_num_threads(1)
WORLD = GaussWorld([[1.0, 0.0], [0.0, 1.0]])
PROMPTS = ["p0", "p1"]


def _cfg(**kw):
    base = {"epochs": 100, "K": 2, "G": 4, "sampling_steps": 4, "lr": 1e-3, "progress": False,
            "lora_rank": 4, "lora_alpha": 8, "lora_targets": ("fc1", "fc2")}
    return TrainConfig(**(base | kw))


EPOCH = epoch_passes(_cfg(), len(PROMPTS))  # 2 prompts x K 2 = 4 groups of G 4 images
GROUP = EPOCH // 4


def _weights(tr):
    params = dict(tr.policy.named_parameters())
    return {n: params[n].detach().clone() for n in tr.state.trainable}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)


def test_a_run_ends_at_its_budget_with_a_cut_last_epoch():
    assert GROUP == 4 * (4 + 3 * 4)  # G images x (4 sampling + 3 timesteps x (3 fwd + 1 bwd))
    tr = Trainer(make_base_model(), WORLD.rewards(), PROMPTS, _cfg(budget_passes=2 * EPOCH
                                                                    + 3 * GROUP + GROUP - 1))
    tr.train()
    # two whole epochs, then the 3 groups that still fit; the remainder is below one group
    assert tr.cost.passes == 2 * EPOCH + 3 * GROUP and tr.stopped_by_budget
    assert [h.get("groups") for h in tr.history] == [None, None, 3]
    assert tr.cost.images == 2 * 16 + 3 * 4


def test_snapshots_sit_at_their_fraction_and_equal_a_run_of_that_budget(tmp_path):
    budget = 10 * GROUP  # stops at 5 groups (fraction 0.5) and 10 groups
    tr = train(make_base_model(), WORLD.rewards(), PROMPTS, _cfg(budget_passes=budget),
               checkpoint_dir=tmp_path, snapshots=(0.5, 1.0))
    assert tr.cost.passes == budget
    assert [h.get("groups") for h in tr.history] == [None, 1, None, 1]
    tensors, meta = load_snapshot(snapshot_path(tmp_path, 0.5), tr.config_hash)
    assert meta["passes"] == 5 * GROUP and meta["epoch"] == 2
    assert not snapshot_path(tmp_path, 1.0).exists()  # the final checkpoint holds 1.0
    half = Trainer(make_base_model(), WORLD.rewards(), PROMPTS, _cfg(budget_passes=5 * GROUP))
    half.train()
    assert half.cost.passes == 5 * GROUP and _same(tensors, _weights(half))
    assert not _same(tensors, _weights(tr))
    again = Trainer(make_base_model(), WORLD.rewards(), PROMPTS, _cfg(budget_passes=budget),
                    snapshots=(0.5, 1.0))
    again.load(tmp_path)
    assert again.load_snapshot(tmp_path, 0.5)["passes"] == 5 * GROUP
    assert _same(_weights(again), tensors)


def test_resume_after_a_cut_epoch_matches_the_uninterrupted_run(tmp_path):
    cfg = _cfg(budget_passes=10 * GROUP)
    whole = train(make_base_model(), WORLD.rewards(), PROMPTS, cfg, snapshots=(0.5, 1.0))
    part = Trainer(make_base_model(), WORLD.rewards(), PROMPTS, cfg, snapshots=(0.5, 1.0))
    part.train(epochs=2, checkpoint_dir=tmp_path)  # stops right after the cut epoch
    resumed = train(make_base_model(), WORLD.rewards(), PROMPTS, cfg, checkpoint_dir=tmp_path,
                    snapshots=(0.5, 1.0))
    assert resumed.cost.passes == whole.cost.passes == 10 * GROUP
    assert _same(_weights(resumed), _weights(whole))
    tensors, _ = load_snapshot(snapshot_path(tmp_path, 0.5))
    assert _same(tensors, whole.snapshot_weights[0.5])


def test_snapshot_fractions_are_checked_and_change_the_run_hash():
    with pytest.raises(ValueError, match="snapshot fractions"):
        Trainer(make_base_model(), WORLD.rewards(), PROMPTS, _cfg(), snapshots=(0.0, 1.0))
    plain = Trainer(make_base_model(), WORLD.rewards(), PROMPTS, _cfg())
    cut = Trainer(make_base_model(), WORLD.rewards(), PROMPTS, _cfg(), snapshots=(0.5, 1.0))
    assert plain.config_hash != cut.config_hash
