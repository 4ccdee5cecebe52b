import json

import torch

from paretoslider.worlds import pretrain


def test_micro_pretraining_lowers_the_loss_and_loads_back(tmp_path):
    cfg = pretrain.MICRO.__class__(**{**pretrain.MICRO.__dict__, "steps": 60, "lr": 3e-3, "threads": 1})
    out = tmp_path / "base.safetensors"
    summary = pretrain.pretrain(cfg, out, tmp_path / "cache", progress=False)
    assert summary["loss_end"] < 0.9 * summary["loss_start"]
    model = pretrain.load_base_model(out)
    assert not any(p.requires_grad for p in model.parameters())
    assert json.loads(out.with_suffix(".json").read_text())["steps"] == 60


def test_pretraining_resumes_to_the_same_weights(tmp_path):
    cfg = pretrain.MICRO.__class__(**{**pretrain.MICRO.__dict__, "threads": 1})
    whole, resumed = tmp_path / "whole.safetensors", tmp_path / "resumed.safetensors"
    pretrain.pretrain(cfg, whole, tmp_path / "c1", progress=False)
    assert pretrain.pretrain(cfg, resumed, tmp_path / "c2", progress=False, stop_at=20) is None
    assert not resumed.exists()
    pretrain.pretrain(cfg, resumed, tmp_path / "c2", progress=False)
    a, b = pretrain.load_base_model(whole), pretrain.load_base_model(resumed)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_missing_weights_name_the_command(tmp_path):
    try:
        pretrain.load_base_model(tmp_path / "nothing.safetensors")
    except FileNotFoundError as exc:
        assert "python -m paretoslider.worlds.pretrain" in str(exc)
    else:
        raise AssertionError("expected FileNotFoundError")
