"""Train the shapes world's judges: `python -m paretoslider.rewards.train_judges`.

Deterministic on CPU: data come from `sample_batch` with fixed seeds (training judges, held-out
judges and the validation set each use their own, disjoint seed range), networks and batch
order from each judge's own seed. Light augmentation (Gaussian noise, slight blur) keeps the
judges sensible on what a small generative model produces. `--micro` is a seconds-long
configuration for tests.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from paretoslider.cli import Parser, positive_int
from paretoslider.rewards.judges import INDEX_FILE, JUDGE_DIR, JUDGE_SPECS, JudgeSpec, build_net
from paretoslider.worlds.shapes import STYLES, Batch, sample_batch

TRAIN_DATA_SEED = {False: 10_000, True: 20_000}  # keyed by heldout
VAL_DATA_SEED = 90_000


@dataclass
class TrainConfig:
    n_train: int = 8192
    n_val: int = 4096
    steps: int = 400  # style judges: an easy task
    shape_steps: int = 1200  # shapes of dim, blurry photos need longer
    batch: int = 128
    lr: float = 3e-3
    size: int = 16
    chunk: int = 1024  # images rendered per sample_batch call


MICRO = TrainConfig(n_train=1024, n_val=512, steps=100, shape_steps=100, chunk=512)


def render_pool(n: int, seed: int, size: int, chunk: int) -> Batch:
    parts = [sample_batch(min(chunk, n - i), seed + i // chunk, size) for i in range(0, n, chunk)]
    return Batch(
        images=torch.cat([p.images for p in parts]),
        shapes=torch.cat([p.shapes for p in parts]),
        style_weights=torch.cat([p.style_weights for p in parts]),
        prompts=[q for p in parts for q in p.prompts],
    )


def augment(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Half the images slightly blurred (random mix with a 3x3 Gaussian), half noised."""
    n = images.shape[0]
    k = torch.tensor([0.25, 0.5, 0.25])
    kernel = (k[:, None] * k[None, :]).expand(3, 1, 3, 3)
    blurred = F.conv2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    def coin_times_uniform():
        return torch.rand(n, 1, 1, 1, generator=gen) * (torch.rand(n, 1, 1, 1, generator=gen) < 0.5)

    out = images + coin_times_uniform() * (blurred - images)
    std = 0.08 * coin_times_uniform()
    return (out + std * torch.randn(out.shape, generator=gen)).clamp(0, 1)


def _loss(spec: JudgeSpec, logits: torch.Tensor, data: Batch, idx: torch.Tensor) -> torch.Tensor:
    if spec.target == "shape":
        return F.cross_entropy(logits, data.shapes[idx])
    target = data.style_weights[idx, STYLES.index(spec.target)]
    return F.binary_cross_entropy_with_logits(logits[:, 0], target)


@torch.no_grad()
def evaluate(spec: JudgeSpec, net, val: Batch) -> dict[str, float]:
    """Held-out metrics on clean validation images and on augmented copies of them."""
    net.eval()
    out = {}
    noisy = augment(val.images, torch.Generator().manual_seed(VAL_DATA_SEED))
    for tag, images in (("", val.images), ("_augmented", noisy)):
        logits = torch.cat([net(x) for x in images.split(1024)])
        if spec.target == "shape":
            out["accuracy" + tag] = (logits.argmax(1) == val.shapes).float().mean().item()
            continue
        pred = torch.sigmoid(logits[:, 0])
        weight = val.style_weights[:, STYLES.index(spec.target)]
        out["accuracy" + tag] = ((pred >= 0.5) == (weight >= 0.5)).float().mean().item()
        out["mae" + tag] = (pred - weight).abs().mean().item()
    return {k: round(v, 4) for k, v in out.items()}


def train_judge(spec: JudgeSpec, data: Batch, val: Batch, cfg: TrainConfig):
    """Train one judge from its own seed; returns (network, metrics)."""
    torch.manual_seed(spec.seed)
    net = build_net(spec)
    steps = cfg.shape_steps if spec.target == "shape" else cfg.steps
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(spec.seed)
    n = data.images.shape[0]
    order, pos = torch.randperm(n, generator=gen), 0
    net.train()
    for _ in range(steps):
        if pos + cfg.batch > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos : pos + cfg.batch]
        pos += cfg.batch
        loss = _loss(spec, net(augment(data.images[idx], gen)), data, idx)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return net.eval(), evaluate(spec, net, val)


def train_all(out_dir: str | Path, cfg: TrainConfig, names: list[str] | None = None) -> dict:
    """Train the named judges (default: all), save weights and merge them into the index."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = [JUDGE_SPECS[n] for n in (names or list(JUDGE_SPECS))]
    index_path = out / INDEX_FILE
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    t0 = time.perf_counter()
    val = render_pool(cfg.n_val, VAL_DATA_SEED, cfg.size, cfg.chunk)
    pools: dict[bool, Batch] = {}
    for spec in specs:
        if spec.heldout not in pools:
            pools[spec.heldout] = render_pool(
                cfg.n_train, TRAIN_DATA_SEED[spec.heldout], cfg.size, cfg.chunk
            )
        start = time.perf_counter()
        net, metrics = train_judge(spec, pools[spec.heldout], val, cfg)
        seconds = round(time.perf_counter() - start, 2)
        save_file({k: v.contiguous() for k, v in net.state_dict().items()},
                  str(out / f"{spec.name}.safetensors"))
        index[spec.name] = {
            "config": {**asdict(spec), "arch": spec.arch, **asdict(cfg),
                       "train_data_seed": TRAIN_DATA_SEED[spec.heldout],
                       "val_data_seed": VAL_DATA_SEED},
            "metrics": metrics,
            "train_seconds": seconds,
        }
        print(f"{spec.name:22s} {json.dumps(metrics)}  {seconds:.1f}s", flush=True)
    index_path.write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n")
    print(f"total {time.perf_counter() - t0:.1f}s (data rendering included) -> {out}")
    return index


def main(argv: list[str] | None = None) -> None:
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(JUDGE_DIR), help="output directory")
    p.add_argument("--micro", action="store_true", help="tiny, seconds-long configuration")
    p.add_argument("--only", nargs="+", choices=list(JUDGE_SPECS), help="judges to train")
    p.add_argument("--n-train", type=positive_int)
    p.add_argument("--n-val", type=positive_int)
    p.add_argument("--steps", type=positive_int, help="optimizer steps of each style judge")
    p.add_argument("--shape-steps", type=positive_int,
                   help="optimizer steps of each shape classifier")
    p.add_argument("--threads", type=positive_int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    cfg = TrainConfig(**asdict(MICRO)) if a.micro else TrainConfig()
    for field in ("n_train", "n_val", "steps", "shape_steps"):
        if getattr(a, field) is not None:
            setattr(cfg, field, getattr(a, field))
    train_all(a.out, cfg, a.only)


if __name__ == "__main__":
    main()
