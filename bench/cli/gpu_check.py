"""`python -m bench.gpu_check`: the SD3.5 training path on one GPU, with random weights.

Builds SD3.5-Medium at its real shapes from diffusers' config values (transformer, VAE, the
three text encoders; no downloads), then runs what a training process does and prints the
GPU memory after each stage: load, prompt encoding (then the text encoders are freed), a
training epoch at the suite's minibatch, the evaluation EMA, evaluation sampling at the
suite's evaluation batch; also the time of one update visit, the checkpoint's size and one
update through DistributedDataParallel in a one-process group. Rewards are a stand-in (mean
brightness): the reward models' memory is not part of it. Without CUDA (or with --tiny) it
runs the same stages at tiny shapes, on the CPU, in seconds.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import socket
import tempfile
import time
from dataclasses import replace

import torch

# SD3.5-Medium's configs (its model_index folders' config.json values)
MEDIUM = {
    "transformer": {
        "sample_size": 128, "patch_size": 2, "in_channels": 16, "out_channels": 16,
        "num_layers": 24, "attention_head_dim": 64, "num_attention_heads": 24,
        "joint_attention_dim": 4096, "caption_projection_dim": 1536,
        "pooled_projection_dim": 2048, "pos_embed_max_size": 384, "qk_norm": "rms_norm",
        "dual_attention_layers": tuple(range(13))},
    "vae": {
        "in_channels": 3, "out_channels": 3, "latent_channels": 16, "layers_per_block": 2,
        "block_out_channels": (128, 256, 512, 512), "norm_num_groups": 32, "sample_size": 1024,
        "down_block_types": ("DownEncoderBlock2D",) * 4, "up_block_types": ("UpDecoderBlock2D",) * 4,
        "scaling_factor": 1.5305, "shift_factor": 0.0609, "use_quant_conv": False,
        "use_post_quant_conv": False},
    "clip_l": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
               "num_attention_heads": 12, "projection_dim": 768, "hidden_act": "quick_gelu"},
    "clip_g": {"hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32,
               "num_attention_heads": 20, "projection_dim": 1280, "hidden_act": "gelu"},
    "t5": {"d_model": 4096, "d_ff": 10240, "num_layers": 24, "num_heads": 64, "d_kv": 64,
           "feed_forward_proj": "gated-gelu"},
    "vocab": {"clip": 49408, "t5": 32128},  # real sizes: the embeddings' memory counts
    "resolution": 512,
}
TINY = {
    "transformer": {
        "sample_size": 8, "patch_size": 2, "in_channels": 4, "out_channels": 4, "num_layers": 2,
        "attention_head_dim": 8, "num_attention_heads": 2, "joint_attention_dim": 32,
        "caption_projection_dim": 16, "pooled_projection_dim": 32, "pos_embed_max_size": 8,
        "dual_attention_layers": (0,)},
    "vae": {
        "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 1,
        "block_out_channels": (8, 16), "norm_num_groups": 4, "sample_size": 16,
        "down_block_types": ("DownEncoderBlock2D",) * 2, "up_block_types": ("UpDecoderBlock2D",) * 2,
        "scaling_factor": 1.5305, "shift_factor": 0.0609, "use_quant_conv": False,
        "use_post_quant_conv": False},
    "clip_l": {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
               "num_attention_heads": 2, "projection_dim": 16},
    "clip_g": {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
               "num_attention_heads": 2, "projection_dim": 16},
    "t5": {"d_model": 32, "d_ff": 32, "num_layers": 1, "num_heads": 2, "d_kv": 8},
    "vocab": {"clip": 54, "t5": 54},  # the character tokenizer's
    "resolution": 16,
}
GIB = 2 ** 30


class StandInReward:
    """Mean pixel value (no weights to load), named after the suite's objective."""

    range = (0.0, 1.0)

    def __init__(self, name: str, sign: float):
        self.name, self.sign = name, sign

    def __call__(self, images, prompts):
        return self.sign * images.float().mean(dim=(1, 2, 3))


def memory(device: torch.device) -> str:
    if device.type != "cuda":
        import resource

        return f"cpu, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    torch.cuda.synchronize(device)
    now, peak = torch.cuda.memory_allocated(device), torch.cuda.max_memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    return f"allocated {now / GIB:.2f} GiB, peak since the last stage {peak / GIB:.2f} GiB"


def stage(name: str, device: torch.device, start: float) -> None:
    print(f"stage {name}: {memory(device)} ({time.perf_counter() - start:.1f} s)", flush=True)


@contextlib.contextmanager
def building(device: torch.device, dtype: torch.dtype):
    """Modules made directly on `device` in `dtype`: 4.8B random T5 weights on the CPU would
    take minutes to initialise and twice the memory to move."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with device:
            yield
    finally:
        torch.set_default_dtype(old)


def tokenizer():
    """A character-level CLIP tokenizer: 54 ids, within any of the encoders' vocabularies."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c], vocab[c + "</w>"] = len(vocab), len(vocab) + 1
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def build(shapes: dict, device: torch.device, dtype: torch.dtype, vae_dtype: torch.dtype,
          gradient_checkpointing: bool, max_sequence_length: int):
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        SD3Transformer2DModel,
        StableDiffusion3Pipeline,
    )
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, T5Config, T5EncoderModel

    from paretoslider.backbones.sd3 import SD3Backbone, pipeline_encoder

    tok, vocab = tokenizer(), shapes["vocab"]
    ids = {"vocab_size": vocab["clip"], "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1}
    torch.manual_seed(0)
    with building(device, dtype):
        transformer = SD3Transformer2DModel(**shapes["transformer"]).requires_grad_(False)
        encoders = [CLIPTextModelWithProjection(CLIPTextConfig(**shapes[k], **ids))
                    for k in ("clip_l", "clip_g")]
        t5 = T5EncoderModel(T5Config(vocab_size=vocab["t5"], **shapes["t5"]))
    with building(device, vae_dtype):
        vae = AutoencoderKL(**shapes["vae"])
    if gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    pipe = StableDiffusion3Pipeline(
        transformer=None, vae=None, scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        text_encoder=encoders[0], tokenizer=tok, text_encoder_2=encoders[1], tokenizer_2=tok,
        text_encoder_3=t5, tokenizer_3=tok)
    for enc in (*encoders, t5):
        enc.requires_grad_(False).eval()
    backbone = SD3Backbone(transformer.to(device, dtype), vae,
                           pipeline_encoder(pipe, max_sequence_length), shapes["resolution"],
                           text_pipeline=pipe)
    return backbone.to(device)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ddp_update(trainer, device: torch.device) -> str:
    """One epoch with the policy wrapped in DDP in a one-process group on `device`."""
    import torch.distributed as dist

    from paretoslider.trainer.distributed import _DDPPolicy

    backend = "nccl" if device.type == "cuda" else "gloo"
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    dist.init_process_group(backend, rank=0, world_size=1)
    try:
        plain = trainer.state.policy
        ids = [device.index or 0] if device.type == "cuda" else None
        trainer.state.policy = _DDPPolicy(plain, device_ids=ids)
        try:
            loss = trainer.train_epoch()["loss"]
        finally:
            trainer.state.policy = plain
    finally:
        dist.destroy_process_group()
    return f"{backend} on {device}, loss {loss:.4g}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="sd35_photo_sketch", help="whose trainer / eval settings")
    ap.add_argument("--tiny", action="store_true", help="tiny shapes (the default without CUDA)")
    ap.add_argument("--minibatch", type=int, default=None, help="default: the suite's")
    ap.add_argument("--eval-batch", type=int, default=None, help="default: the suite's eval.batch")
    ap.add_argument("--gradient-checkpointing", action="store_true")
    args = ap.parse_args(argv)
    from omegaconf import OmegaConf

    from paretoslider.samplers import sample_ode
    from paretoslider.trainer import TrainConfig, Trainer

    cuda = torch.cuda.is_available()
    tiny = args.tiny or not cuda
    device = torch.device("cuda:0" if cuda and not tiny else "cpu")
    suite = OmegaConf.to_container(OmegaConf.load(f"bench/conf/suite/{args.suite}.yaml"))
    world = suite["world_options"]
    dtype = getattr(torch, world["dtype"]) if device.type == "cuda" else torch.float32
    vae_dtype = getattr(torch, world.get("vae_dtype") or world["dtype"]) if device.type == "cuda" \
        else torch.float32
    import accelerate
    import diffusers
    import peft

    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}"
          f" ({'tiny' if tiny else 'SD3.5-Medium'} shapes, {dtype}, VAE {vae_dtype})")
    print(f"versions: torch {torch.__version__} (CUDA {torch.version.cuda}), diffusers "
          f"{diffusers.__version__}, peft {peft.__version__}, accelerate {accelerate.__version__}")
    start = time.perf_counter()
    backbone = build(TINY if tiny else MEDIUM, device, dtype, vae_dtype,
                     args.gradient_checkpointing or world.get("gradient_checkpointing", False),
                     world.get("max_sequence_length", 128))
    n = sum(p.numel() for p in backbone.transformer.parameters())
    print(f"transformer: {n / 1e9:.3f}B parameters")
    stage("load", device, start)

    prompts = list(suite["prompts"])
    backbone.encode_prompts(prompts)
    backbone.release_text_encoders()
    stage("prompt encoding (encoders freed)", device, start)

    minibatch = args.minibatch or suite["trainer"]["minibatch"]
    opts = {k: v for k, v in suite["trainer"].items() if k in TrainConfig.__dataclass_fields__}
    # one prompt, one w, `minibatch` images; 2 trained timesteps (and at tiny shapes 2
    # sampling steps) keep it short: memory does not grow with either
    if tiny:
        opts["sampling_steps"] = 2
    cfg = replace(TrainConfig(**opts), K=1, G=minibatch, minibatch=minibatch, prompts_per_epoch=1,
                  timesteps_per_sample=2, budget_passes=None, epochs=2, progress=False,
                  threads=torch.get_num_threads(), objectives=tuple(suite["objectives"]))
    rewards = [StandInReward(name, (-1) ** i) for i, name in enumerate(suite["objectives"])]
    trainer = Trainer(backbone, rewards, prompts[:1], cfg)
    record = trainer.train_epoch()  # also warms the kernels for the timing below
    batch = _rollout(trainer)
    t0 = time.perf_counter()
    trainer.update_step(*batch, torch.Generator().manual_seed(1))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    step = (time.perf_counter() - t0) / cfg.timesteps_used()
    stage(f"training step (minibatch {minibatch}, loss {record['loss']:.4g})", device, start)
    print(f"step time: {step:.3f} s per update visit (policy + old + reference forwards, one "
          f"backward, minibatch {minibatch})")

    evaluated = trainer.policy  # the evaluation EMA, in the same transformer
    stage("EMA", device, start)

    batch = args.eval_batch or suite["eval"]["batch"]
    noise = torch.randn(batch, *backbone.image_shape)
    w = torch.full((batch, len(rewards)), 1.0 / len(rewards))
    with torch.no_grad():  # two steps: memory does not grow with the number of steps
        cond = backbone.encode_prompts(prompts[:1] * batch)
        images = backbone.decode(sample_ode(evaluated, noise, cond, w, steps=2))
    stage(f"evaluation (batch {batch}, {tuple(images.shape)} images)", device, start)

    with tempfile.TemporaryDirectory() as tmp:
        print(f"checkpoint: {trainer.save(tmp) / 2**20:.1f} MiB")
    try:
        print(f"ddp: {ddp_update(trainer, device)}")
    except (RuntimeError, OSError, ValueError) as exc:  # no process group here: the rest stands
        print(f"ddp: skipped ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
    print(f"total: {time.perf_counter() - start:.1f} s")


def _rollout(trainer):
    """A fresh rollout with its rewards and advantages, as train_epoch builds them."""
    from paretoslider.trainer.steps import advantages, sample, score

    cfg = trainer.cfg
    prompts, ws = trainer._epoch_batch(trainer.epoch, None)
    rollout = sample(trainer._rollout_model(), prompts, ws, cfg.G, cfg.sampling_steps,
                     torch.Generator().manual_seed(0), shift=cfg.shift, grid=cfg.time_grid,
                     solver=cfg.solver, w_conditioned=cfg.w_conditioned, chunk=cfg.minibatch)
    rewards = score(rollout.x0, rollout.prompts, trainer.rewards, trainer.decode, cfg.reward_batch)
    return rollout, rewards, advantages(rewards, rollout.w, rollout.groups, cfg.loss,
                                        cfg.scalarisation)


if __name__ == "__main__":
    main()
