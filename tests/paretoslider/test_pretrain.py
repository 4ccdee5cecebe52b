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
    assert json.loads(out.with_suffix(".json").read_text())["steps"] == 60 + cfg.distill_steps


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


def test_pretraining_resumes_across_the_distillation_boundary(tmp_path):
    cfg = pretrain.MICRO.__class__(**{**pretrain.MICRO.__dict__, "threads": 1})
    whole, resumed = tmp_path / "whole.safetensors", tmp_path / "resumed.safetensors"
    summary = pretrain.pretrain(cfg, whole, tmp_path / "c1", progress=False)
    assert {"distill_loss_start", "distill_loss_end"} <= set(summary)
    for stop in (cfg.steps, cfg.steps + 5):  # at the boundary, then inside stage 2
        assert pretrain.pretrain(cfg, resumed, tmp_path / "c2", progress=False, stop_at=stop) is None
    pretrain.pretrain(cfg, resumed, tmp_path / "c2", progress=False)
    a, b = pretrain.load_base_model(whole), pretrain.load_base_model(resumed)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def _micro_model():
    model = pretrain.build_model(pretrain.MICRO)
    for p in model.parameters():  # break the zero-initialised output so velocities differ
        torch.nn.init.normal_(p, std=0.2)
    return model.eval()


def test_guided_velocity_is_the_cfg_combination():
    model = _micro_model()
    x, t = torch.randn(3, 3, 16, 16), torch.tensor([0.2, 0.5, 0.9])
    prompts = ["circle", "sketch square", "triangle"]
    with torch.no_grad():
        v_c = model(x, t, model.encode_prompts(prompts))
        v_u = model(x, t, model.encode_prompts([""] * 3))
        guided = pretrain.guided_velocity(model, x, t, prompts, 3.0)
    assert not torch.allclose(v_c, v_u)
    torch.testing.assert_close(guided, v_u + 3.0 * (v_c - v_u))


def test_distillation_loss_is_zero_for_the_teacher_itself_at_scale_one():
    model = _micro_model()
    x0 = torch.rand(4, 3, 16, 16) * 2 - 1
    gen = torch.Generator().manual_seed(0)
    prompts = ["circle", "square", "cross", "neon triangle"]
    with torch.no_grad():
        assert pretrain.distillation_loss(model, model, x0, prompts, gen, 1.0).item() < 1e-10
        assert pretrain.distillation_loss(model, model, x0, prompts, gen, 4.0).item() > 1e-4


def test_prompt_dropout_replaces_by_the_empty_prompt():
    gen = torch.Generator().manual_seed(0)
    prompts = ["circle"] * 2000
    assert pretrain.drop_prompts(prompts, 0.0, gen) == prompts
    assert pretrain.drop_prompts(prompts, 1.0, gen) == [""] * 2000
    share = pretrain.drop_prompts(prompts, 0.15, gen).count("") / 2000
    assert 0.12 < share < 0.18
