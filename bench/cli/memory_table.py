"""`python -m bench.memory_table`: GPU memory of SD3.5 training and evaluation, computed.

Computed, not measured: parameter counts come from building the diffusers transformer on the
meta device from its config; bytes per parameter from the training recipe (bf16 frozen
weights; float32 LoRA and preference weights with their gradients, AdamW moments, the old
policy's copy, the evaluation EMA and the copy set aside while it is evaluated); activations
from a count of D-wide bf16 tensors saved per token and block (`SAVED_PER_TOKEN`). Measure
the real numbers with `python -m bench.gpu_check` on the GPU in question.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

GB = 1e9
# bf16 tensors of width D that one block's forward keeps for backward, per token, with flash
# attention and LoRA: autograd's saved tensors counted on the meta device at 512 px
# (13.6 GiB per sample, less the 10.3 GiB of attention matrices flash attention never keeps)
SAVED_PER_TOKEN = 35
LIVE_PER_TOKEN = 12  # D-wide tensors alive at once in an inference forward (the MLP's 4D)
TRAINED_BYTES = 4 + 4 + 8 + 4 + 4 + 4  # fp32 weight, grad, AdamW m and v, old, EMA, set aside
VAE_BYTES_PER_PIXEL = 128 * 4 * 8  # fp32 decode: ~8 live 128-channel maps at full size
OVERHEAD_GB = 1.5  # CUDA context, cuBLAS workspaces, allocator slack
HEADROOM = 0.9  # the share of a card a plan may fill


@dataclass
class ModelCounts:
    transformer: int  # parameters and buffers (pos_embed) of the transformer
    trained: int  # LoRA + preference parameters
    hidden: int  # D
    blocks: int
    image_tokens: int
    text_tokens: int
    vae: int  # parameters, float32
    rewards: int  # parameters of the training reward models on the GPU, float32
    judges: int  # parameters of the evaluation-only (held-out) judges, float32
    pixels: int  # per decoded image

    @property
    def tokens(self) -> int:
        return self.image_tokens + self.text_tokens


def training_gb(c: ModelCounts, minibatch: int, checkpointing: bool = False) -> float:
    """One process's peak in a training step (GB): frozen bf16 transformer, trained
    tensors, VAE, rewards and the activations of one minibatch."""
    per_block = c.tokens * c.hidden * 2  # one D-wide bf16 tensor over the sequence
    if checkpointing:  # block inputs (both streams) kept; one block's tensors recomputed
        activations = minibatch * per_block * (2 * c.blocks + SAVED_PER_TOKEN)
    else:
        activations = minibatch * per_block * SAVED_PER_TOKEN * c.blocks
    fixed = 2 * c.transformer + TRAINED_BYTES * c.trained + 4 * (c.vae + c.rewards)
    return (fixed + activations) / GB + OVERHEAD_GB


def evaluation_gb(c: ModelCounts, batch: int, decode_chunk: int = 8) -> float:
    """Peak while sampling `batch` rows and decoding them `decode_chunk` at a time (GB)."""
    forward = batch * c.tokens * c.hidden * 2 * LIVE_PER_TOKEN
    decode = decode_chunk * c.pixels * VAE_BYTES_PER_PIXEL
    fixed = 2 * c.transformer + 8 * c.trained + 4 * (c.vae + c.rewards + c.judges)
    return (fixed + max(forward, decode)) / GB + OVERHEAD_GB


def largest_fitting(fn, gpu_gb: float, limit: int = 64) -> int:
    """The largest batch b <= limit with fn(b) within HEADROOM of the card (0: none; a
    table shows `limit` as "limit+")."""
    return max((b for b in range(1, limit + 1) if fn(b) <= HEADROOM * gpu_gb), default=0)


def table(c: ModelCounts, gpus=(80, 40), suite_minibatch: int = 8,
          suite_eval_batch: int = 16) -> str:
    head = ("| GPU | training: minibatch that fits (GB) | with gradient checkpointing (GB) "
            f"| training at minibatch {suite_minibatch} | evaluation: batch that fits (GB) "
            f"| evaluation at batch {suite_eval_batch} |")
    rows = [head, "|---|---|---|---|---|---|"]
    def fits(fn, g):
        b = largest_fitting(fn, g)
        return f"{b}{'+' if b == 64 else ''} ({fn(max(b, 1)):.1f})"

    for g in gpus:
        rows.append(f"| {g} GB | {fits(lambda b: training_gb(c, b), g)} "
                    f"| {fits(lambda b: training_gb(c, b, checkpointing=True), g)} "
                    f"| {training_gb(c, suite_minibatch):.1f} GB "
                    f"| {fits(lambda b: evaluation_gb(c, b), g)} "
                    f"| {evaluation_gb(c, suite_eval_batch):.1f} GB |")
    return "\n".join(rows)


# ------------------------------------------------------------ counts from diffusers configs
def transformer_counts(config: dict, lora_rank: int, lora_targets: list[str],
                       num_objectives: int = 2) -> tuple[int, int]:
    """(parameters + buffers, trained parameters) of the transformer built on the meta
    device: LoRA r x (in + out) per targeted Linear, plus the authors' preference modules."""
    import torch
    from diffusers import SD3Transformer2DModel

    from paretoslider.conditioning import PreferenceConditioning

    with torch.device("meta"):
        model = SD3Transformer2DModel(**config)
        dim = config["num_attention_heads"] * config["attention_head_dim"]
        preference = PreferenceConditioning(num_objectives, dim, "both", projector="authors")
    total = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    lora = sum(lora_rank * (m.in_features + m.out_features) for n, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and any(n == t or n.endswith("." + t)
                                                         for t in lora_targets))
    return total, lora + sum(p.numel() for p in preference.parameters())


def sd35_medium_counts(lora_rank: int = 32, max_sequence_length: int = 128,
                       resolution: int = 512) -> ModelCounts:
    import torch
    from diffusers import AutoencoderKL

    from bench.cli.gpu_check import MEDIUM
    from paretoslider.trainer.config import SD3_JOINT_ATTENTION_TARGETS

    cfg = MEDIUM["transformer"]
    total, trained = transformer_counts(cfg, lora_rank, list(SD3_JOINT_ATTENTION_TARGETS))
    with torch.device("meta"):
        vae = sum(p.numel() for p in AutoencoderKL(**MEDIUM["vae"]).parameters())
    side = resolution // 8 // cfg["patch_size"]
    return ModelCounts(
        transformer=total, trained=trained, blocks=cfg["num_layers"],
        hidden=cfg["num_attention_heads"] * cfg["attention_head_dim"],
        image_tokens=side * side, text_tokens=77 + max_sequence_length, vae=vae,
        rewards=428_000_000 + 986_000_000,  # CLIP-L/14 and PickScore (ViT-H/14), float32
        judges=986_000_000,  # the held-out CLIP ViT-H/14
        pixels=resolution * resolution)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lora-rank", type=int, default=32)
    ap.add_argument("--max-sequence-length", type=int, default=128)
    args = ap.parse_args(argv)
    c = sd35_medium_counts(args.lora_rank, args.max_sequence_length)
    print(f"transformer {c.transformer / 1e9:.3f}B (with pos_embed), trained {c.trained / 1e6:.1f}M, "
          f"VAE {c.vae / 1e6:.1f}M, {c.tokens} tokens per sample (computed, not measured)")
    print(table(c))


if __name__ == "__main__":
    main()
