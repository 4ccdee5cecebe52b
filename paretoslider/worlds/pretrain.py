"""Pretraining of the tiny base model on the shapes world (rectified flow matching).

Deterministic for a given config, resumable (a checkpoint every few hundred steps in the
cache, keyed by the config hash), and cheap: the default takes minutes on 2 CPU cores.
The result (EMA weights) is committed under paretoslider/assets/ so the main job needs no
pretraining: `python -m paretoslider.worlds.pretrain` rebuilds it.
"""
from __future__ import annotations

import argparse
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
    steps: int = 5000
    batch_size: int = 64
    lr: float = 1e-3
    warmup: int = 200
    dataset_size: int = 32768
    style_word_prob: float = 0.3
    ema_decay: float = 0.999
    seed: int = 0
    threads: int = 2
    checkpoint_every: int = 500


MICRO = PretrainConfig(num_layers=1, num_heads=2, head_dim=8, text_dim=16, steps=30,
                       batch_size=16, dataset_size=256, warmup=5, checkpoint_every=10)


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


def flow_matching_loss(model, x0, cond, gen: torch.Generator) -> torch.Tensor:
    """Velocity regression at logit-normal times (as SD3 trains): ||v(x_t) - (eps - x0)||^2."""
    t = torch.sigmoid(torch.randn(x0.shape[0], generator=gen))
    eps = torch.randn(x0.shape, generator=gen)
    tt = t.view(-1, 1, 1, 1)
    x_t = (1 - tt) * x0 + tt * eps
    return ((model(x_t, t, cond) - (eps - x0)) ** 2).mean()


def _lr_at(step: int, cfg: PretrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def pretrain(cfg: PretrainConfig, out: Path = BASE_WEIGHTS, cache: Path = CACHE, progress=True,
             stop_at: int | None = None) -> dict | None:
    """Train (or resume) the base model and write its EMA weights to `out`; returns the summary.

    `stop_at` ends the run early at that step (as an interruption would), leaving only the
    checkpoint behind, and returns None.
    """
    torch.set_num_threads(cfg.threads)
    key = dict_hash({k: v for k, v in asdict(cfg).items() if k != "threads"})  # speed only
    ckpt_dir = cache / key
    model = build_model(cfg)
    ema = build_model(cfg)
    ema.load_state_dict(model.state_dict())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, wall, losses = 0, 0.0, []
    if ckpt.has_checkpoint(ckpt_dir):  # resume
        tensors, meta = ckpt.load_checkpoint(ckpt_dir, key)
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model/")})
        ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema/")})
        ckpt.load_optimizer_state(opt, tensors, meta["optimizer"])
        gen.set_state(tensors["rng"])
        step, wall, losses = meta["step"], meta["wall_s"], meta["losses"]
    data, prompts = make_dataset(cfg)
    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, desc="pretrain")
    start = time.perf_counter() - wall
    while step < min(cfg.steps, stop_at or cfg.steps):
        idx = torch.randint(len(prompts), (cfg.batch_size,), generator=gen)
        x0 = data[idx].float()
        cond = model.encode_prompts([prompts[i] for i in idx.tolist()])
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, cfg)
        loss = flow_matching_loss(model, x0, cond, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - cfg.ema_decay)
        step += 1
        losses.append(loss.item())
        bar.update(1)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / 50:.4f}")
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            _save_state(ckpt_dir, key, model, ema, opt, gen, step, time.perf_counter() - start, losses)
    bar.close()
    if step < cfg.steps:
        return None
    wall = time.perf_counter() - start
    k = max(1, min(100, step // 5))  # loss averaged over the first and last k steps
    summary = {"config": asdict(cfg), "config_hash": key, "steps": step, "wall_s": round(wall, 1),
               "loss_start": _mean(losses[:k]), "loss_end": _mean(losses[-k:]),
               "parameters": sum(p.numel() for p in model.parameters()), "backbone": model.config()}
    save_tensors(out, ema.state_dict())
    atomic_write_json(out.with_suffix(".json"), summary)
    return summary


def _mean(xs):
    return round(sum(xs) / max(1, len(xs)), 5)


def _save_state(directory: Path, key: str, model, ema, opt, gen, step, wall, losses):
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    tensors |= {f"ema/{k}": v for k, v in ema.state_dict().items()}
    opt_tensors, opt_rest = ckpt.optimizer_state(opt)
    tensors |= opt_tensors | {"rng": gen.get_state()}
    meta = {"config_hash": key, "step": step, "wall_s": wall, "losses": losses, "optimizer": opt_rest}
    ckpt.save_checkpoint(directory, tensors, meta, tag=f"s{step:07d}")


def load_base_model(path: Path | str | None = None) -> TinySD3:
    """The pretrained base model, frozen and in eval mode.

    The default is the committed model; the variable PARETOSLIDER_BASE_MODEL points
    elsewhere (a model of one's own, or a micro model for quick checks).
    """
    path = Path(path or os.environ.get("PARETOSLIDER_BASE_MODEL") or BASE_WEIGHTS)
    meta_path = path.with_suffix(".json")
    if not path.exists() or not meta_path.exists():
        raise FileNotFoundError(
            f"base model weights not found at {path}; create them with "
            "`python -m paretoslider.worlds.pretrain`"
        )
    meta = json.loads(meta_path.read_text())
    model = TinySD3(**meta["backbone"])
    model.load_state_dict(load_tensors(path))
    model.eval().requires_grad_(False)
    return model


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Pretrain the shapes world's tiny base model.")
    p.add_argument("--micro", action="store_true", help="a seconds-long configuration for tests")
    p.add_argument("--steps", type=int)
    p.add_argument("--threads", type=int)
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
          f"loss {summary['loss_start']} -> {summary['loss_end']}; wrote {args.out}")
    if not args.micro:
        from paretoslider.worlds.report import quality_gate

        summary["quality_gate"] = gate = quality_gate(load_base_model(args.out))
        styles = ", ".join(f"{k} {v:.2f}" for k, v in gate["style_fractions"].items())
        print(f"quality gate {'passed' if gate['passed'] else 'FAILED'}: shape accuracy "
              f"{gate['shape_accuracy']:.3f} (needs >= 0.9); dominant styles {styles} "
              "(each needs >= 0.10)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
