"""The SD3.5 backbone's code on tiny random diffusers / transformers models built from configs."""
from __future__ import annotations

import pytest
import torch
from diffusers import AutoencoderKL, SD3Transformer2DModel

from paretoslider.backbones import BACKBONES, build_backbone
from paretoslider.backbones.sd3 import SD3Backbone
from paretoslider.trainer import TrainConfig, Trainer
from paretoslider.weights import MissingWeightsError

TEXT_DIM, POOLED_DIM, LATENT = 32, 32, 4


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("PARETOSLIDER_SD3", raising=False)
    torch.set_num_threads(1)


def tiny_transformer() -> SD3Transformer2DModel:
    torch.manual_seed(0)
    return SD3Transformer2DModel(
        sample_size=8, patch_size=2, in_channels=LATENT, out_channels=LATENT, num_layers=2,
        attention_head_dim=8, num_attention_heads=2, joint_attention_dim=TEXT_DIM,
        caption_projection_dim=16, pooled_projection_dim=POOLED_DIM, pos_embed_max_size=8,
    )


def tiny_vae() -> AutoencoderKL:
    torch.manual_seed(1)
    return AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), layers_per_block=1,
        latent_channels=LATENT, norm_num_groups=4, sample_size=16, scaling_factor=1.5305,
        shift_factor=0.0609, use_quant_conv=False, use_post_quant_conv=False,
    )


def embeddings(prompts: list[str]) -> dict:
    gen = torch.Generator().manual_seed(2)
    return {p: {"encoder_hidden_states": torch.randn(5, TEXT_DIM, generator=gen),
                "pooled_projections": torch.randn(POOLED_DIM, generator=gen)} for p in prompts}


class Brightness:
    name = "brightness"
    range = (0.0, 1.0)

    def __init__(self):
        self.seen: list[torch.Tensor] = []

    def __call__(self, images, prompts):
        self.seen.append(images)
        return images.mean(dim=(1, 2, 3))


def test_one_training_step_through_the_trainer():
    prompts = ["a cat", "a dog"]
    backbone = SD3Backbone(tiny_transformer(), tiny_vae(), embeddings(prompts), resolution=16)
    assert backbone.image_shape == (LATENT, 8, 8)  # latent space: 16 px / VAE factor 2
    reward, other = Brightness(), Brightness()
    cfg = TrainConfig(epochs=1, K=2, G=2, sampling_steps=2, lora_rank=2, lora_alpha=4,
                      minibatch=8, progress=False)
    trainer = Trainer(backbone, [reward, other], prompts, cfg)
    before = {n: p.detach().clone() for n, p in trainer.policy.named_parameters() if p.requires_grad}
    history = trainer.train()
    assert len(history) == 1 and trainer.cost.optimizer_steps == 1
    images = reward.seen[0]
    assert images.shape == (2 * 2 * 2, 3, 16, 16)  # rewards read decoded RGB images
    assert images.min() >= 0 and images.max() <= 1
    after = dict(trainer.policy.named_parameters())
    moved = [n for n, p in before.items() if not torch.equal(p, after[n])]
    assert any("lora_B" in n for n in moved) and any("preference" in n for n in moved)
    assert not any("vae" in n for n, _ in trainer.policy.named_parameters())
    # the frozen VAE and prompt cache are shared by the copies, not duplicated
    assert trainer.state.reference.vae is backbone.vae is trainer.state.old.vae


def test_bf16_weights_train_float32_adapters_under_autocast():
    from accelerate import Accelerator

    from paretoslider.trainer.distributed import DistributedTrainer

    prompts = ["a cat", "a dog"]
    backbone = SD3Backbone(tiny_transformer().to(torch.bfloat16), tiny_vae().to(torch.bfloat16),
                           embeddings(prompts), resolution=16)
    cfg = TrainConfig(epochs=1, K=1, G=2, sampling_steps=2, lora_rank=2, lora_alpha=4,
                      progress=False)
    trainer = DistributedTrainer(backbone, [Brightness()], prompts, cfg,
                                 accelerator=Accelerator(cpu=True))
    trainer.train()
    trained = [p for p in trainer.policy.parameters() if p.requires_grad]
    assert {p.dtype for p in trained} == {torch.float32}  # master weights for AdamW
    assert backbone.transformer.dtype == torch.bfloat16
    assert all(torch.isfinite(p).all() for p in trained)


def test_forward_keeps_the_callers_device_and_dtype_and_checks_w():
    prompts = ["a cat"]
    backbone = SD3Backbone(tiny_transformer(), tiny_vae(), embeddings(prompts), resolution=16)
    x = torch.randn(3, *backbone.image_shape)
    cond = backbone.encode_prompts(prompts * 3)
    with pytest.raises(ValueError, match="add_preference"):
        backbone(x, torch.tensor(0.5), cond, torch.full((3, 2), 0.5))
    backbone.add_preference(2)
    v = backbone(x, torch.tensor(0.5), cond, torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]))
    assert v.shape == x.shape and v.dtype == torch.float32
    with pytest.raises(KeyError, match="no prompt embedding for 'a bird'"):
        backbone.encode_prompts(["a bird"])


def _conditioned_gradients(checkpointing: bool) -> tuple[dict, int]:
    """Gradients of one preference-conditioned LoRA step, and how often the blocks ran."""
    from paretoslider.trainer.state import build_state

    transformer = tiny_transformer()
    if checkpointing:
        transformer.enable_gradient_checkpointing()
    backbone = SD3Backbone(transformer, tiny_vae(), embeddings(["a cat", "a dog"]), resolution=16)
    cfg = TrainConfig(lora_rank=2, lora_alpha=4, block_projector="authors", progress=False)
    torch.manual_seed(4)
    state = build_state(backbone, cfg, 2)
    calls = []
    for block in transformer.transformer_blocks:
        block.norm1.register_forward_hook(lambda *_: calls.append(1))
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(3, *backbone.image_shape, generator=gen)
    w = torch.tensor([[1.0, 0.0], [0.3, 0.7], [0.0, 1.0]])
    v = state.policy(x, torch.tensor([0.9, 0.5, 0.2]), backbone.encode_prompts(["a cat"] * 3), w)
    (v - x).square().mean().backward()
    grads = {n: p.grad.clone() for n, p in state.policy.named_parameters() if p.requires_grad}
    return grads, len(calls)


def test_gradient_checkpointing_gives_the_gradients_of_the_plain_step():
    plain, plain_calls = _conditioned_gradients(False)
    checkpointed, ckpt_calls = _conditioned_gradients(True)
    assert ckpt_calls == 2 * plain_calls == 4  # two blocks, recomputed once in backward
    assert plain.keys() == checkpointed.keys()
    assert any("block_mlp" in n and g.abs().sum() > 0 for n, g in plain.items())
    assert any("lora_B" in n and g.abs().sum() > 0 for n, g in plain.items())
    for name, g in plain.items():
        assert torch.allclose(checkpointed[name], g, rtol=1e-5, atol=1e-7), name


def test_decode_undoes_scaling_and_shift():
    backbone = SD3Backbone(tiny_transformer(), tiny_vae(), embeddings(["x"]), resolution=16)
    z = torch.randn(2, *backbone.image_shape)
    vae = backbone.vae
    direct = vae.decode(z / vae.config.scaling_factor + vae.config.shift_factor).sample
    assert torch.allclose(backbone.decode(z), ((direct.clamp(-1, 1) + 1) / 2), atol=1e-5)


def _save_tiny_pipeline(path):
    from diffusers import FlowMatchEulerDiscreteScheduler, StableDiffusion3Pipeline
    from transformers import (
        CLIPTextConfig,
        CLIPTextModelWithProjection,
        CLIPTokenizer,
        T5Config,
        T5EncoderModel,
    )

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c], vocab[c + "</w>"] = len(vocab), len(vocab) + 1
    tok = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    text = CLIPTextConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32,
                          num_hidden_layers=1, num_attention_heads=2, projection_dim=16,
                          bos_token_id=0, eos_token_id=1, pad_token_id=1)
    t5 = T5Config(vocab_size=len(vocab), d_model=TEXT_DIM, d_ff=32, num_layers=1, num_heads=2,
                  d_kv=8)
    torch.manual_seed(3)
    StableDiffusion3Pipeline(
        transformer=tiny_transformer(), scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=tiny_vae(), text_encoder=CLIPTextModelWithProjection(text), tokenizer=tok,
        text_encoder_2=CLIPTextModelWithProjection(text), tokenizer_2=tok,
        text_encoder_3=T5EncoderModel(t5), tokenizer_3=tok,  # any tokenizer serves the tiny T5
    ).save_pretrained(path)


def test_from_pretrained_loads_a_local_pipeline_and_caches_prompts(tmp_path):
    _save_tiny_pipeline(tmp_path / "tiny-sd3")
    backbone = build_backbone("sd3", model_path=str(tmp_path / "tiny-sd3"), resolution=16,
                              dtype="float32", device="cpu", max_sequence_length=8)
    assert "sd3" in BACKBONES and backbone.image_shape == (LATENT, 8, 8)
    calls = []
    encode = backbone.shared.prompts.encode
    backbone.shared.prompts.encode = lambda ps: calls.append(list(ps)) or encode(ps)
    cond = backbone.encode_prompts(["a cat", "a dog", "a cat"])
    assert cond["encoder_hidden_states"].shape == (3, 77 + 8, TEXT_DIM)
    assert cond["pooled_projections"].shape == (3, POOLED_DIM)
    assert torch.equal(cond["pooled_projections"][0], cond["pooled_projections"][2])
    backbone.encode_prompts(["a dog", "a cat"])
    assert calls == [["a cat", "a dog"]]  # each distinct prompt encoded once
    backbone.release_text_encoders()
    assert backbone.encode_prompts(["a dog"])["pooled_projections"].shape == (1, POOLED_DIM)
    v = backbone(torch.randn(3, *backbone.image_shape), torch.tensor(0.3), cond)
    assert torch.isfinite(v).all()


def test_the_vae_decodes_in_its_own_precision(tmp_path):
    _save_tiny_pipeline(tmp_path / "tiny-sd3")
    backbone = build_backbone("sd3", model_path=str(tmp_path / "tiny-sd3"), resolution=16,
                              dtype="bfloat16", device="cpu", max_sequence_length=8,
                              vae_dtype="float32")
    assert next(backbone.transformer.parameters()).dtype == torch.bfloat16
    assert next(backbone.vae.parameters()).dtype == torch.float32
    assert backbone.config()["vae_dtype"] == "float32"
    images = backbone.decode(torch.randn(2, *backbone.image_shape, dtype=torch.bfloat16))
    assert images.shape[:2] == (2, 3) and 0 <= float(images.min()) <= float(images.max()) <= 1
    plain = build_backbone("sd3", model_path=str(tmp_path / "tiny-sd3"), resolution=16,
                           dtype="bfloat16", device="cpu", max_sequence_length=8)
    assert "vae_dtype" not in plain.config()  # older runs' configs (and hashes) unchanged


@pytest.mark.parametrize("model", ["nonexistent-org/nonexistent-sd3", "/nonexistent/dir/sd3"])
def test_missing_weights_raise_one_clear_error(model):
    with pytest.raises(MissingWeightsError) as info:
        SD3Backbone.from_pretrained(model)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert model in message and "PARETOSLIDER_SD3" in message
    assert ("HF_HOME" in message) == (not model.startswith("/"))  # cache advice for hub ids
    assert "\n" not in message


def test_incomplete_directory_names_the_model(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model_index.json").write_text("{}")
    with pytest.raises(MissingWeightsError, match="incomplete files"):
        SD3Backbone.from_pretrained(str(tmp_path / "half"))
