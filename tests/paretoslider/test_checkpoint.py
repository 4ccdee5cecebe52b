import json

import pytest
import torch

from paretoslider.checkpoint import (
    CheckpointMismatchError,
    CorruptCheckpointError,
    atomic_write,
    has_checkpoint,
    load_checkpoint,
    load_optimizer_state,
    optimizer_state,
    rng_from_json,
    rng_to_json,
    save_checkpoint,
)
from paretoslider.trainer import TrainConfig, Trainer, train
from paretoslider.worlds.gauss import GaussWorld, make_base_model

torch.set_num_threads(1)
WORLD = GaussWorld([[1.0, 0.0], [0.0, 1.0]])


def test_save_load_round_trip_and_cleanup(tmp_path):
    t = {"a": torch.arange(6.0).reshape(2, 3), "b/c": torch.tensor([1, 2], dtype=torch.int64)}
    n1 = save_checkpoint(tmp_path, t, {"config_hash": "h1", "epoch": 1}, tag="e1")
    assert n1 == (tmp_path / "tensors-e1.safetensors").stat().st_size
    save_checkpoint(tmp_path, {"a": torch.zeros(1)}, {"config_hash": "h1", "epoch": 2}, tag="e2")
    tensors, meta = load_checkpoint(tmp_path, "h1")
    assert meta["epoch"] == 2 and tensors["a"].tolist() == [0.0]
    save_checkpoint(tmp_path, t, {"config_hash": "h1"}, tag="e3")
    names = sorted(f.name for f in tmp_path.iterdir())  # the latest two are kept
    assert names == ["checkpoint.json", "checkpoint.prev.json", "tensors-e2.safetensors",
                     "tensors-e3.safetensors"]
    tensors, _ = load_checkpoint(tmp_path)
    assert torch.equal(tensors["a"], t["a"]) and torch.equal(tensors["b/c"], t["b/c"])
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


@pytest.mark.parametrize("damaged", ["tensors-e2.safetensors", "checkpoint.json"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, damaged):
    save_checkpoint(tmp_path, {"a": torch.ones(1)}, {"config_hash": "h", "epoch": 1}, tag="e1")
    save_checkpoint(tmp_path, {"a": torch.zeros(1)}, {"config_hash": "h", "epoch": 2}, tag="e2")
    (tmp_path / damaged).write_bytes((tmp_path / damaged).read_bytes()[:20])  # cut short
    with pytest.warns(UserWarning, match="resuming from the previous checkpoint .epoch/step 1"):
        tensors, meta = load_checkpoint(tmp_path, "h")
    assert meta["epoch"] == 1 and tensors["a"].tolist() == [1.0]


def test_no_readable_checkpoint_left_raises_naming_the_file(tmp_path):
    save_checkpoint(tmp_path, {"a": torch.ones(1)}, {"config_hash": "h"}, tag="e1")
    (tmp_path / "tensors-e1.safetensors").write_bytes(b"garbage")
    with pytest.raises(CorruptCheckpointError, match="tensors-e1.safetensors"):
        load_checkpoint(tmp_path, "h")


def test_load_refuses_other_config_and_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path)
    assert not has_checkpoint(tmp_path)
    save_checkpoint(tmp_path, {"x": torch.ones(1)}, {"config_hash": "abc"}, tag="e1")
    with pytest.raises(CheckpointMismatchError, match="config hash abc, this run has xyz"):
        load_checkpoint(tmp_path, "xyz")


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "f.json"
    atomic_write(p, b"old")
    atomic_write(p, json.dumps({"k": 1}).encode())
    assert json.loads(p.read_text()) == {"k": 1} and len(list(tmp_path.iterdir())) == 1


def test_optimizer_state_round_trip_gives_identical_next_step():
    def make():
        p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        return p, torch.optim.AdamW([p], lr=0.1, weight_decay=0.01)

    p1, o1 = make()
    for _ in range(2):
        o1.zero_grad()
        (p1**2).sum().backward()
        o1.step()
    tensors, rest = optimizer_state(o1)
    rest = json.loads(json.dumps(rest))  # must survive JSON
    p2, o2 = make()
    p2.data.copy_(p1.data)
    load_optimizer_state(o2, tensors, rest)
    for p, o in ((p1, o1), (p2, o2)):
        o.zero_grad()
        (p**2).sum().backward()
        o.step()
    assert torch.equal(p1, p2)


def test_rng_state_json_round_trip():
    state = torch.get_rng_state()
    assert torch.equal(rng_from_json(rng_to_json(state)), state)


def _cfg(**kw):
    base = {
        "epochs": 3, "K": 2, "G": 8, "sampling_steps": 4, "lr": 1e-3, "steps_per_epoch": 2,
        "progress": False, "full_finetune": False, "lora_rank": 4, "lora_alpha": 8,
        "lora_targets": ("fc1", "fc2"),
    }
    return TrainConfig(**(base | kw))


def _trainer(**kw):
    torch.manual_seed(1234 + len(kw))  # fresh LoRA / preference init differs from run to run
    return Trainer(make_base_model(), WORLD.rewards(), ["p0", "p1"], _cfg(**kw))


def _state(tr):
    named = dict(tr.policy.named_parameters())
    old = dict(tr.state.old.named_parameters())
    return {n: (named[n].detach().clone(), old[n].detach().clone()) for n in tr.state.trainable}


def test_exact_resume_matches_uninterrupted_run(tmp_path):
    full = _trainer()
    full.train()
    part = _trainer(epochs=1)
    part.train(checkpoint_dir=tmp_path)
    assert has_checkpoint(tmp_path) and part.cost.checkpoint_bytes > 0
    resumed = _trainer(epochs=3, threads=1, progress=False)
    resumed.load(tmp_path)
    assert resumed.epoch == 1 and resumed.state.step == 2
    resumed.train()
    a, b = _state(full), _state(resumed)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name][0], b[name][0]) and torch.equal(a[name][1], b[name][1]), name
    assert [h["reward_mean"] for h in full.history] == [h["reward_mean"] for h in resumed.history]
    assert resumed.cost.passes == full.cost.passes
    assert resumed.cost.optimizer_steps == full.cost.optimizer_steps == 6


def test_resume_refuses_a_different_config(tmp_path):
    _trainer(epochs=1).train(checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointMismatchError, match="refusing to resume"):
        _trainer(lr=2e-3).load(tmp_path)


def test_train_function_resumes_from_its_directory(tmp_path):
    tr = train(make_base_model(), WORLD.rewards(), ["p0"], _cfg(epochs=1), checkpoint_dir=tmp_path)
    assert tr.epoch == 1
    tr2 = train(make_base_model(), WORLD.rewards(), ["p0"], _cfg(epochs=2), checkpoint_dir=tmp_path)
    assert tr2.epoch == 2 and len(tr2.history) == 2 and tr2.cost.optimizer_steps == 4
