"""Pretraining of the tiny base model on the shapes world, in two stages.

1. Rectified flow matching, with a share of empty prompts so that the model also learns the
   unconditional velocity (as text-to-image models are trained for classifier-free guidance).
2. Guidance distillation (Meng et al., 2023): a student, initialised from stage 1, regresses
   the guided velocity v_u + s (v_c - v_u) of the frozen stage-1 model on noised data. The
   student follows prompts as guided sampling does, at the cost of one forward pass, so the
   samplers and the post-training methods use it as a plain flow model.

Deterministic for a given config, resumable (a checkpoint every few hundred steps in the
cache, keyed by the config hash); the default takes about half an hour on 2 CPU cores.
The result (EMA weights) is committed under paretoslider/assets/ so the main job needs no
pretraining: `python -m paretoslider.worlds.pretrain` rebuilds it.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from tqdm import tqdm

from paretoslider import checkpoint as ckpt
from paretoslider.backbones.tiny_sd3 import TinySD3
from paretoslider.checkpoint import atomic_write_json, dict_hash, load_tensors, save_tensors
from paretoslider.cli import Parser, positive_int
from paretoslider.worlds import shapes

ASSETS = Path(__file__).resolve().parent.parent / "assets"
BASE_WEIGHTS = ASSETS / "base_tiny.safetensors"
CACHE = Path.home() / ".cache" / "paretoslider" / "pretrain"


@dataclass(frozen=True)
class PretrainConfig:
    image_size: int = 16
    num_layers: int = 6
    num_heads: int = 4
    head_dim: int = 16
    text_dim: int = 64
    steps: int = 5000  # stage 1: flow matching
    batch_size: int = 64
    lr: float = 1e-3
    warmup: int = 200
    dataset_size: int = 32768
    style_word_prob: float = 0.3
    ema_decay: float = 0.999
    prompt_dropout: float = 0.15  # share of empty prompts in stage 1
    distill_steps: int = 3000  # stage 2: guidance distillation (0: none)
    guidance_scale: float = 8.0
    distill_lr: float = 3e-4
    distill_ema_decay: float = 0.995
    seed: int = 0
    threads: int = 2
    checkpoint_every: int = 500


MICRO = PretrainConfig(num_layers=1, num_heads=2, head_dim=8, text_dim=16, steps=30,
                       batch_size=16, dataset_size=256, warmup=5, checkpoint_every=10,
                       distill_steps=10, distill_lr=3e-3)


def vocabulary() -> list[str]:
    return list(shapes.SHAPES) + [shapes.STYLE_WORDS[s] for s in shapes.STYLES]


def build_model(cfg: PretrainConfig) -> TinySD3:
    torch.manual_seed(cfg.seed)
    return TinySD3(vocabulary(), image_size=cfg.image_size, num_layers=cfg.num_layers,
                   num_heads=cfg.num_heads, head_dim=cfg.head_dim, text_dim=cfg.text_dim)


def make_dataset(cfg: PretrainConfig, chunk: int = 4096):
    """Rendered images in [-1, 1] (float16 to halve memory) and their prompts."""
    images, prompts = [], []
    for i, start in enumerate(range(0, cfg.dataset_size, chunk)):
        b = shapes.sample_batch(min(chunk, cfg.dataset_size - start), seed=cfg.seed * 1000 + i,
                                size=cfg.image_size, style_word_prob=cfg.style_word_prob)
        images.append((b.images * 2 - 1).half())
        prompts += b.prompts
    return torch.cat(images), prompts


def noised(x0, gen: torch.Generator):
    """(x_t, t, eps) at logit-normal times (as SD3 trains), x_t = (1 - t) x0 + t eps."""
    t = torch.sigmoid(torch.randn(x0.shape[0], generator=gen))
    eps = torch.randn(x0.shape, generator=gen)
    tt = t.view(-1, 1, 1, 1)
    return (1 - tt) * x0 + tt * eps, t, eps


def flow_matching_loss(model, x0, cond, gen: torch.Generator) -> torch.Tensor:
    """Velocity regression: ||v(x_t) - (eps - x0)||^2."""
    x_t, t, eps = noised(x0, gen)
    return ((model(x_t, t, cond) - (eps - x0)) ** 2).mean()


def drop_prompts(prompts: list[str], p: float, gen: torch.Generator) -> list[str]:
    """Each prompt replaced by the empty prompt with probability p."""
    keep = torch.rand(len(prompts), generator=gen) >= p
    return [q if k else "" for q, k in zip(prompts, keep.tolist())]


def guided_velocity(model, x_t, t, prompts: list[str], scale: float) -> torch.Tensor:
    """Classifier-free guidance, v_u + s (v_c - v_u), conditional and empty prompt in one batch."""
    cond = model.encode_prompts(prompts + [""] * len(prompts))
    v_c, v_u = model(torch.cat([x_t, x_t]), torch.cat([t, t]), cond).chunk(2)
    return v_u + scale * (v_c - v_u)


def distillation_loss(student, teacher, x0, prompts, gen: torch.Generator, scale: float):
    """The student's velocity regressed on the teacher's guided velocity at noised data."""
    x_t, t, _ = noised(x0, gen)
    with torch.no_grad():
        target = guided_velocity(teacher, x_t, t, prompts, scale)
    return ((student(x_t, t, student.encode_prompts(prompts)) - target) ** 2).mean()


def _lr_at(step: int, cfg: PretrainConfig) -> float:
    if step >= cfg.steps:  # stage 2: constant
        return cfg.distill_lr
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _frozen_copy(model: TinySD3, cfg: PretrainConfig) -> TinySD3:
    copy = build_model(cfg)
    copy.load_state_dict(model.state_dict())
    return copy.eval().requires_grad_(False)


def pretrain(cfg: PretrainConfig, out: Path = BASE_WEIGHTS, cache: Path = CACHE, progress=True,
             stop_at: int | None = None) -> dict | None:
    """Train (or resume) the base model and write its EMA weights to `out`; returns the summary.

    Steps count through both stages: 0..steps is flow matching, steps..steps+distill_steps
    guidance distillation. `stop_at` ends the run early at that step (as an interruption
    would), leaving only the checkpoint behind, and returns None.
    """
    torch.set_num_threads(cfg.threads)
    key = dict_hash({k: v for k, v in asdict(cfg).items() if k != "threads"})  # speed only
    ckpt_dir = cache / key
    total = cfg.steps + cfg.distill_steps
    model = build_model(cfg)
    ema = _frozen_copy(model, cfg)
    teacher = None
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, wall, losses = 0, 0.0, []
    if ckpt.has_checkpoint(ckpt_dir):  # resume
        tensors, meta = ckpt.load_checkpoint(ckpt_dir, key)
        model.load_state_dict(_prefixed(tensors, "model/"))
        ema.load_state_dict(_prefixed(tensors, "ema/"))
        if "teacher" in meta.get("parts", []):
            teacher = build_model(cfg)
            teacher.load_state_dict(_prefixed(tensors, "teacher/"))
            teacher.eval().requires_grad_(False)
        ckpt.load_optimizer_state(opt, tensors, meta["optimizer"])
        gen.set_state(tensors["rng"])
        step, wall, losses = meta["step"], meta["wall_s"], meta["losses"]
    data, prompts = make_dataset(cfg)
    bar = tqdm(total=total, initial=step, disable=not progress, desc="pretrain")
    start = time.perf_counter() - wall
    while step < min(total, stop_at or total):
        if step == cfg.steps and teacher is None:  # stage 2 starts from the stage-1 EMA
            teacher = _frozen_copy(ema, cfg)
            model.load_state_dict(ema.state_dict())
            opt = torch.optim.AdamW(model.parameters(), lr=cfg.distill_lr, weight_decay=0.0)
        idx = torch.randint(len(prompts), (cfg.batch_size,), generator=gen)
        x0 = data[idx].float()
        batch_prompts = [prompts[i] for i in idx.tolist()]
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, cfg)
        if teacher is None:
            cond = model.encode_prompts(drop_prompts(batch_prompts, cfg.prompt_dropout, gen))
            loss = flow_matching_loss(model, x0, cond, gen)
        else:
            loss = distillation_loss(model, teacher, x0, batch_prompts, gen, cfg.guidance_scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        decay = cfg.ema_decay if teacher is None else cfg.distill_ema_decay
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - decay)
        step += 1
        losses.append(loss.item())
        bar.update(1)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / 50:.4f}")
        if step % cfg.checkpoint_every == 0 or step in (cfg.steps, total):
            _save_state(ckpt_dir, key, {"model": model, "ema": ema, "teacher": teacher}, opt, gen,
                        step, time.perf_counter() - start, losses)
    bar.close()
    if step < total:
        return None
    wall = time.perf_counter() - start
    summary = {"config": asdict(cfg), "config_hash": key, "steps": step, "wall_s": round(wall, 1),
               **_loss_summary(losses[: cfg.steps], ""),
               **_loss_summary(losses[cfg.steps :], "distill_"),
               "parameters": sum(p.numel() for p in model.parameters()), "backbone": model.config()}
    save_tensors(out, ema.state_dict())
    atomic_write_json(out.with_suffix(".json"), summary)
    return summary


def _loss_summary(losses: list[float], prefix: str) -> dict:
    """Loss averaged over the first and the last k steps of a stage."""
    if not losses:
        return {}
    k = max(1, min(100, len(losses) // 5))
    return {f"{prefix}loss_start": _mean(losses[:k]), f"{prefix}loss_end": _mean(losses[-k:])}


def _prefixed(tensors: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def _mean(xs):
    return round(sum(xs) / max(1, len(xs)), 5)


def _save_state(directory: Path, key: str, parts: dict, opt, gen, step, wall, losses):
    tensors = {f"{name}/{k}": v for name, m in parts.items() if m is not None
               for k, v in m.state_dict().items()}
    opt_tensors, opt_rest = ckpt.optimizer_state(opt)
    tensors |= opt_tensors | {"rng": gen.get_state()}
    meta = {"config_hash": key, "step": step, "wall_s": wall, "losses": losses,
            "optimizer": opt_rest, "parts": [n for n, m in parts.items() if m is not None]}
    ckpt.save_checkpoint(directory, tensors, meta, tag=f"s{step:07d}")


def base_weights_path(path: Path | str | None = None) -> Path:
    """The base model's weights file (and its .json beside it), checked to exist."""
    path = Path(path or os.environ.get("PARETOSLIDER_BASE_MODEL") or BASE_WEIGHTS)
    if not path.exists():
        raise FileNotFoundError(
            f"base model weights not found at {path}; create them with "
            "`python -m paretoslider.worlds.pretrain`"
        )
    if not path.with_suffix(".json").exists():  # the architecture is read from the sidecar
        raise FileNotFoundError(f"{path} has no sidecar {path.with_suffix('.json').name} "
                                "describing its architecture; pretrain.py writes both")
    return path


def load_base_model(path: Path | str | None = None) -> TinySD3:
    """The pretrained base model, frozen and in eval mode.

    The default is the committed model; the variable PARETOSLIDER_BASE_MODEL points
    elsewhere (a model of one's own, or a micro model for quick checks).
    """
    path = base_weights_path(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    model = TinySD3(**meta["backbone"])
    model.load_state_dict(load_tensors(path))
    model.eval().requires_grad_(False)
    return model


def main(argv=None) -> None:
    p = Parser(description="Pretrain the shapes world's tiny base model.")
    p.add_argument("--micro", action="store_true", help="a seconds-long configuration for tests")
    p.add_argument("--steps", type=positive_int)
    p.add_argument("--threads", type=positive_int)
    p.add_argument("--out", type=Path, default=BASE_WEIGHTS)
    p.add_argument("--cache", type=Path, default=CACHE)
    args = p.parse_args(argv)
    cfg = MICRO if args.micro else PretrainConfig()
    if args.steps:
        cfg = replace(cfg, steps=args.steps)
    if args.threads:
        cfg = replace(cfg, threads=args.threads)
    summary = pretrain(cfg, args.out, args.cache)
    print(f"pretrained {summary['parameters']} parameters in {summary['wall_s']} s; "
          f"loss {summary['loss_start']} -> {summary['loss_end']}; guidance distillation loss "
          f"{summary.get('distill_loss_start')} -> {summary.get('distill_loss_end')}; wrote {args.out}")
    if not args.micro:
        from paretoslider.worlds.quality_gate import quality_gate

        summary["quality_gate"] = gate = quality_gate(load_base_model(args.out))
        styles = ", ".join(f"{k} {v:.2f}" for k, v in gate["style_fractions"].items())
        print(f"quality gate {'passed' if gate['passed'] else 'FAILED'}: shape accuracy "
              f"{gate['shape_accuracy_heldout']:.3f} by the held-out classifier (needs >= 0.9; "
              f"{gate['shape_accuracy']:.3f} by the training judge); dominant styles {styles} "
              "(each needs >= 0.10)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
