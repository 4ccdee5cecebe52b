"""Data-parallel training: prompt sharding, and the single-process path under accelerate."""
from __future__ import annotations

import json

import pytest
import torch
from accelerate import Accelerator

from paretoslider.trainer import TrainConfig, Trainer
from paretoslider.trainer.distributed import DistributedTrainer, main, shard_prompts
from paretoslider.worlds.gauss import GaussWorld, make_base_model

torch.set_num_threads(1)
WORLD = GaussWorld([[1.0, 0.0], [0.0, 1.0]])


def test_shards_partition_the_prompts_evenly():
    prompts = [f"p{i}" for i in range(6)]
    shards = [shard_prompts(prompts, r, 3) for r in range(3)]
    assert sorted(p for s in shards for p in s) == prompts
    assert {len(s) for s in shards} == {2}
    assert shard_prompts(prompts, 0, 1) == prompts
    with pytest.raises(ValueError, match="multiple of 4"):
        shard_prompts(prompts, 0, 4)


def _run(cls, **kw):
    torch.manual_seed(0)
    cfg = TrainConfig(epochs=2, K=2, G=4, sampling_steps=4, full_finetune=True, progress=False,
                      lr=1e-3)
    trainer = cls(make_base_model(), WORLD.rewards(), ["p0", "p1"], cfg, **kw)
    trainer.train()
    return trainer


def test_one_process_reproduces_the_plain_trainer():
    plain = _run(Trainer)
    dist = _run(DistributedTrainer, accelerator=Accelerator(cpu=True))
    assert dist.accelerator.num_processes == 1
    assert [h["reward_mean"] for h in dist.history] == [h["reward_mean"] for h in plain.history]
    for (n, a), (_, b) in zip(plain.policy.named_parameters(), dist.policy.named_parameters(),
                              strict=True):
        assert torch.equal(a, b), n
    assert dist.cost.passes == plain.cost.passes


def test_entry_point_trains_a_suite_and_resumes(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(json.dumps({  # JSON is YAML
        "world": "gauss",
        "world_options": {"hidden": 16, "depth": 1, "pretrain_steps": 5},
        "objectives": ["linear0", "linear1"],
        "prompts": ["p0", "p1"],
        "trainer": {"K": 2, "G": 2, "sampling_steps": 2, "full_finetune": True, "epochs": 1,
                    "progress": False},
    }))
    out = tmp_path / "run"
    main(["--suite", str(suite), "--out", str(out)])
    first = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in first["history"]] == [1]
    main(["--suite", str(suite), "--out", str(out), "--epochs", "2"])  # resumes after epoch 1
    second = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in second["history"]] == [1, 2]
    assert second["history"][0] == first["history"][0]
    assert set(second["history"][1]["reward_mean"]) == {"linear0", "linear1"}


def test_entry_point_reports_missing_sd35_weights_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("PARETOSLIDER_SD3", raising=False)
    with pytest.raises(SystemExit, match="error: SD3 weights 'stabilityai/stable-diffusion-3.5"):
        main(["--suite", "bench/conf/suite/sd35_photo_sketch.yaml", "--out", str(tmp_path)])
