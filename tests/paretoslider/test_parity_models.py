"""Model-side settings of the authors' recipe on tiny SD3 models: LoRA targets, the block
projector's start, an initial LoRA as policy and reference, float32 trained weights under
bf16 autocast, and the SD3.5 world's own sampler settings."""
from __future__ import annotations

import copy
import json

import pytest
import torch
from safetensors.torch import save_file

from paretoslider.backbones.tiny_sd3 import TinySD3
from paretoslider.conditioning import PreferenceConditioning, sinusoidal_code
from paretoslider.samplers import SamplerSettings
from paretoslider.trainer import TrainConfig, Trainer
from paretoslider.trainer.config import SD3_JOINT_ATTENTION_TARGETS, SD3_LORA_TARGETS
from paretoslider.trainer.state import attach_lora
from paretoslider.trainer.update import nft_minibatch_loss

torch.set_num_threads(1)
VOCAB = ["circle", "square", "photo", "sketch"]
PROMPTS = ["a circle", "a square"]


def tiny(**kw) -> TinySD3:
    torch.manual_seed(0)
    return TinySD3(VOCAB, image_size=8, num_layers=2, num_heads=2, head_dim=8, text_dim=16, **kw)


class Mean:
    name, range = "mean", (-1.0, 1.0)

    def __call__(self, images, prompts):
        return images.mean(dim=(1, 2, 3))


def _wrapped(model) -> list[str]:
    return [n for n, m in model.transformer.named_modules() if hasattr(m, "lora_A")]


def test_joint_attention_targets_leave_the_second_attention_alone():
    # block 0: attn (8 projections) + attn2 (4); block 1 is context-pre-only: no to_add_out
    bare, joint = tiny(dual_attention_layers=(0,)), tiny(dual_attention_layers=(0,))
    attach_lora(bare, TrainConfig(lora_targets=SD3_LORA_TARGETS))
    attach_lora(joint, TrainConfig(lora_targets=SD3_JOINT_ATTENTION_TARGETS))
    assert len(_wrapped(bare)) == 8 + 4 + 7 and len(_wrapped(joint)) == 8 + 7
    assert sum(".attn2." in n for n in _wrapped(bare)) == 4
    assert not any(".attn2." in n for n in _wrapped(joint))
    # at SD3.5-Medium's 24 blocks, 13 of them dual: 24 * 8 - 1 = 191 against 191 + 13 * 4 = 243
    assert "dual_attention_layers" not in tiny().config()  # older configs (and hashes) unchanged


def test_zero_projector_starts_at_zero_the_authors_one_does_not():
    w = torch.tensor([[1.0, 0.0], [0.3, 0.7]])
    torch.manual_seed(0)
    zero = PreferenceConditioning(2, 8, "block")
    torch.manual_seed(0)
    authors = PreferenceConditioning(2, 8, "block", projector="authors")
    assert torch.equal(zero.block_mlp(sinusoidal_code(w)), torch.zeros(2, 8))
    assert authors.block_mlp(sinusoidal_code(w)).abs().min() > 0
    kinds = [type(m).__name__ for m in authors.block_mlp]
    assert kinds == ["Linear", "Linear", "ReLU", "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    widths = [m.out_features for m in authors.block_mlp if hasattr(m, "out_features")]
    assert widths == [768, 8, 8, 8, 8]
    # on the model: the block path alone moves the output at step 0 only with the authors' projector
    x, t = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1)), torch.tensor(0.5)
    for projector, moves in (("zero", False), ("authors", True)):
        model = tiny()
        model.add_preference(2, "block", projector=projector)
        cond = model.encode_prompts(PROMPTS)
        with torch.no_grad():
            gap = (model(x, t, cond, w) - model(x, t, cond, None)).abs().max().item()
        assert (gap > 1e-4) == moves, projector


def _lora_file(tmp_path, cfg: TrainConfig) -> dict[str, torch.Tensor]:
    """An SFT-like LoRA in peft's layout (folder with weights and config), random values."""
    model = tiny()
    attach_lora(model, cfg)
    gen = torch.Generator().manual_seed(5)
    lora = {n.replace(".default", ""): p for n, p in model.transformer.named_parameters()
            if "lora_" in n}
    saved = {f"base_model.model.{n}": 0.1 * torch.randn(p.shape, generator=gen)
             for n, p in lora.items()}
    save_file(saved, tmp_path / "adapter_model.safetensors")
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": cfg.lora_rank,
                                                              "lora_alpha": cfg.lora_alpha}))
    return saved


def _ours(key: str) -> str:
    """peft's saved name -> the parameter's name in the model (adapter name restored)."""
    return key.removeprefix("base_model.model.").replace(".weight", ".default.weight")


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(**({"epochs": 1, "K": 1, "G": 2, "sampling_steps": 2, "lora_rank": 2,
                           "lora_alpha": 4, "progress": False} | kw))


def test_initial_lora_is_the_start_and_the_frozen_reference(tmp_path):
    saved = {_ours(k): v for k, v in _lora_file(tmp_path, _cfg()).items()}
    base = tiny()
    tr = Trainer(copy.deepcopy(base), [Mean(), Mean()], PROMPTS, _cfg(init_lora=str(tmp_path)))
    for model in (tr.state.policy, tr.state.reference, tr.state.old):
        params = dict(model.transformer.named_parameters())
        assert all(torch.equal(params[name], value) for name, value in saved.items())
    assert not any(p.requires_grad for p in tr.state.reference.parameters())
    x, t = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1)), torch.tensor(0.4)
    cond = base.encode_prompts(PROMPTS)
    with torch.no_grad():  # lora_B != 0: the reference is the base model plus that LoRA
        assert (tr.state.reference(x, t, cond) - base(x, t, cond)).abs().max() > 1e-3
    tr.train()
    ref = dict(tr.state.reference.transformer.named_parameters())
    assert all(torch.equal(ref[name], value) for name, value in saved.items())


def test_an_initial_lora_of_another_shape_is_refused_in_one_line(tmp_path):
    _lora_file(tmp_path, _cfg(lora_rank=4, lora_alpha=8))
    with pytest.raises(ValueError, match="rank 4 and alpha 8; this run has lora_rank 2") as info:
        Trainer(tiny(), [Mean()], PROMPTS, _cfg(init_lora=str(tmp_path)))
    assert "\n" not in str(info.value)
    (tmp_path / "adapter_config.json").unlink()
    with pytest.raises(ValueError, match="shape"):
        Trainer(tiny(), [Mean()], PROMPTS, _cfg(init_lora=str(tmp_path)))
    with pytest.raises(ValueError, match="2 adapters missing"):
        Trainer(tiny(), [Mean()], PROMPTS, _cfg(init_lora=str(tmp_path), lora_rank=4,
                                                lora_targets=(*SD3_LORA_TARGETS, "proj_out")))


def _bf16_sd3(dual_attention_layers=()):
    """SD3Backbone on a tiny bf16 transformer and VAE, with fixed prompt embeddings."""
    from diffusers import AutoencoderKL, SD3Transformer2DModel

    from paretoslider.backbones.sd3 import SD3Backbone

    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(
        sample_size=8, patch_size=2, in_channels=4, out_channels=4, num_layers=2,
        attention_head_dim=8, num_attention_heads=2, joint_attention_dim=16,
        caption_projection_dim=16, pooled_projection_dim=16, pos_embed_max_size=8,
        dual_attention_layers=dual_attention_layers)
    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16),
                        layers_per_block=1, latent_channels=4, norm_num_groups=4, sample_size=16)
    gen = torch.Generator().manual_seed(2)
    prompts = {p: {"encoder_hidden_states": torch.randn(5, 16, generator=gen),
                   "pooled_projections": torch.randn(16, generator=gen)}
               for p in ("a cat", "a dog")}
    bf16 = torch.bfloat16
    return SD3Backbone(transformer.to(bf16), vae.to(bf16), prompts, resolution=16)


def test_mixed_precision_keeps_float32_master_weights_under_bf16_autocast():
    def trainer(**kw):
        return Trainer(_bf16_sd3(), [Mean()], ["a cat", "a dog"], _cfg(**kw))

    plain, mixed = trainer(), trainer(mixed_precision=True)
    lora = [n for n in mixed.state.trainable if "lora_" in n]
    for tr, dtype in ((plain, torch.bfloat16), (mixed, torch.float32)):
        params = dict(tr.state.policy.named_parameters())
        assert {params[n].dtype for n in lora} == {dtype}
    mixed.train()
    params = dict(mixed.state.policy.named_parameters())
    assert {params[n].dtype for n in mixed.state.trainable} == {torch.float32}
    assert mixed.state.policy.transformer.pos_embed.proj.weight.dtype == torch.bfloat16
    assert all(torch.isfinite(params[n]).all() for n in mixed.state.trainable)
    x0 = torch.randn(2, *mixed.policy.image_shape)
    cond = mixed.policy.encode_prompts(["a cat", "a dog"])
    args = (mixed.state, x0, cond, torch.full((2, 1), 1.0), torch.ones(2, 1), torch.ones(2, 1),
            torch.full((2,), 0.5), torch.randn_like(x0))
    assert nft_minibatch_loss(*args, mixed.cfg).dtype == torch.float64
    assert nft_minibatch_loss(*args, plain.cfg).dtype == torch.float32


def test_sd35_world_checks_and_carries_its_sampler_settings():
    from paretoslider.backbones.sd3 import SD3World

    world = SD3World(sampler={"shift": 3.0, "grid": "scheduler"})
    assert world.options["sampler"] == {"shift": 3.0, "grid": "scheduler", "solver": "euler"}
    assert "sampler" not in SD3World().options  # the world's fingerprint without it is unchanged
    with pytest.raises(ValueError, match="unknown time grid 'karras'"):
        SD3World(sampler={"grid": "karras"})
    assert SamplerSettings(**world.options["sampler"]).shift == 3.0


def test_one_epoch_with_every_setting_of_the_sd35_suites():
    cfg = _cfg(K=2, sampling_steps=4, time_grid="scheduler", shift=3.0, timestep_selection="random",
               solver="dpm2", rollout_policy="old", distinct_slots=False, block_projector="authors",
               lora_targets=SD3_JOINT_ATTENTION_TARGETS, mixed_precision=True, eval_ema=True)
    tr = Trainer(_bf16_sd3((0,)), [Mean(), Mean()], ["a cat", "a dog"], cfg)
    record = tr.train()[-1]
    assert record["epoch"] == 1 and torch.isfinite(torch.tensor(record["loss"]))
    # the evaluated EMA lives in the one transformer (no copy at SD3.5 scale)
    evaluated = dict(tr.policy.named_parameters())
    assert tr.policy is tr.state.policy and tr.policy.transformer.dtype == torch.bfloat16
    assert all(torch.equal(evaluated[n], t) for n, t in tr.state.eval_ema.items())
    lora = {n.split(".lora_")[0] for n in tr.state.trainable if "lora_" in n}
    assert len(lora) == 15 and not any(".attn2." in n for n in lora)
