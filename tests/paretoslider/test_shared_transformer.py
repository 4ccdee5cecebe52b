"""One transformer in memory on the SD3.5 path: the old policy and the reference are views of
the policy's transformer, and they train exactly as the deep copies of the small backbones."""
from __future__ import annotations

import gc

import pytest
import torch
from diffusers import SD3Transformer2DModel
from safetensors.torch import save_file
from transformers import CLIPTextModelWithProjection, T5EncoderModel

from bench.execute.jobs import free_text_encoders
from paretoslider.backbones.sd3 import SD3Backbone, SD3World
from paretoslider.trainer import TrainConfig, Trainer
from paretoslider.trainer.shared import SharedModelView
from tests.paretoslider.test_sd3_backbone import (
    Brightness,
    _save_tiny_pipeline,
    embeddings,
    tiny_transformer,
    tiny_vae,
)

PROMPTS = ["a cat", "a dog"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("PARETOSLIDER_SD3", raising=False)
    torch.set_num_threads(1)


def alive(cls) -> int:
    gc.collect()
    return sum(type(o) is cls for o in gc.get_objects())  # not isinstance: no proxy warnings


def config(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 2, "K": 1, "G": 2, "sampling_steps": 2, "lora_rank": 2,
                          "lora_alpha": 4, "progress": False, "lambda_ref": 0.5,
                          "block_projector": "authors", **kw})


def test_an_epoch_of_the_sd35_path_holds_one_transformer_and_no_text_encoder(tmp_path):
    _save_tiny_pipeline(tmp_path / "tiny-sd3")
    before = alive(SD3Transformer2DModel)
    world = SD3World(model_path=str(tmp_path / "tiny-sd3"), resolution=16, dtype="float32",
                     device="cpu", max_sequence_length=8)
    backbone = world.base_model()
    free_text_encoders(backbone, PROMPTS)  # what bench's training path does
    trainer = Trainer(backbone, [Brightness()], PROMPTS,
                      config(epochs=1, eval_ema=True, rollout_policy="old"), decode=world.decode)
    trainer.train()
    assert isinstance(trainer.state.old, SharedModelView)
    assert alive(SD3Transformer2DModel) - before == 1  # not world base + policy + old + reference
    assert alive(T5EncoderModel) == alive(CLIPTextModelWithProjection) == 0
    evaluated = trainer.policy  # the evaluation EMA goes into the same transformer
    assert evaluated is backbone and alive(SD3Transformer2DModel) - before == 1
    assert world.decode(torch.zeros(1, *backbone.image_shape)).shape == (1, 3, 16, 16)
    # a second base model (evaluation's, beside a trained one) is loaded, not copied
    other = world.base_model()
    assert other.transformer is not backbone.transformer and other.vae is backbone.vae
    assert not any("lora_" in n for n, _ in other.named_parameters())


def _train(shared: bool, cfg: TrainConfig) -> Trainer:
    backbone = SD3Backbone(tiny_transformer(), tiny_vae(), embeddings(PROMPTS), resolution=16)
    backbone.shares_transformer = shared
    trainer = Trainer(backbone, [Brightness(), Brightness()], PROMPTS, cfg)
    trainer.train()
    return trainer


def _init_lora(path) -> str:
    """A LoRA file with non-zero factors for the tiny transformer's default targets."""
    backbone = SD3Backbone(tiny_transformer(), tiny_vae(), embeddings(PROMPTS), resolution=16)
    from paretoslider.trainer.state import attach_lora

    attach_lora(backbone, config())
    gen = torch.Generator().manual_seed(7)
    tensors = {n: 0.1 * torch.randn(p.shape, generator=gen)
               for n, p in backbone.named_parameters() if "lora_" in n}
    save_file(tensors, str(path))
    return str(path)


@pytest.mark.parametrize("options", [{"eval_ema": True, "rollout_policy": "old"},
                                     {"init_lora": "INIT", "lambda_ref": 1.0}])
def test_views_train_exactly_as_deep_copies(tmp_path, options):
    if options.get("init_lora") == "INIT":
        options = {**options, "init_lora": _init_lora(tmp_path / "init.safetensors")}
    cfg = config(**options)
    shared, copied = _train(True, cfg), _train(False, cfg)
    assert shared.state.shared and not copied.state.shared
    assert [h["loss"] for h in shared.history] == [h["loss"] for h in copied.history]
    for name in copied.state.trainable:
        for a, b in ((shared.state.policy, copied.state.policy), (shared.state.old, copied.state.old)):
            assert torch.equal(dict(a.named_parameters())[name], dict(b.named_parameters())[name])
    x = torch.randn(2, *shared.state.policy.image_shape, generator=torch.Generator().manual_seed(8))
    cond, t = shared.state.policy.encode_prompts(PROMPTS), torch.tensor(0.6)
    w = torch.tensor([[0.2, 0.8], [0.9, 0.1]])
    for a, b in ((shared.state.reference, copied.state.reference),
                 (shared.state.old, copied.state.old), (shared.policy, copied.policy)):
        with torch.no_grad():
            wa = None if a is shared.state.reference else w
            assert torch.equal(a(x, t, cond, wa), b(x, t, cond, wa))
    # the swap of the EMA into the policy is undone before training goes on
    trained = {n: p.clone() for n, p in copied.state.policy.named_parameters() if p.requires_grad}
    shared.save(tmp_path / "ckpt")
    after = dict(shared.state.policy.named_parameters())
    assert all(torch.equal(after[n], p) for n, p in trained.items())
