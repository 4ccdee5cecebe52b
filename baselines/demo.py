"""Train every baseline on the shapes world's photo / sketch pair with a small budget.

    python -m baselines.demo [--budget PASSES] [--regime equal_total|per_model]
                             [--methods fixed_weight,flow_multi,...] [--threads 1]

Prints per method its training cost (denoiser passes, images, wall seconds, summed over its
runs; runs shared between methods are trained once but counted for each) and the mean
training rewards it reaches at w = (1, 0), (0.5, 0.5), (0, 1). ParetoSlider is trained too,
as the reference row. Needs the pretrained base model and the judges under
paretoslider/assets/, and says how to make them when they are missing.
"""
from __future__ import annotations

import argparse
import time

import torch

from baselines.train import mean_rewards, train_method
from paretoslider.methods import SuiteContext
from paretoslider.rewards import build_reward
from paretoslider.rewards.judges import INDEX_FILE, JUDGE_DIR
from paretoslider.trainer import TrainConfig
from paretoslider.worlds.pretrain import BASE_WEIGHTS, load_base_model
from paretoslider.worlds.shapes import SHAPES, make_prompt

OBJECTIVES = ("photo", "sketch")
METHOD_NAMES = ("paretoslider", "fixed_weight", "flow_multi", "prompting", "rewarded_soups",
                "rewarded_soups_delta", "merging_linear", "merging_ties", "merging_dare_ties",
                "merging_svd", "merging_cat")
WS = ((1.0, 0.0), (0.5, 0.5), (0.0, 1.0))


def check_assets() -> None:
    missing = []
    if not BASE_WEIGHTS.exists():
        missing.append(f"base model {BASE_WEIGHTS} (make it: python -m paretoslider.worlds.pretrain)")
    if not (JUDGE_DIR / INDEX_FILE).exists():
        missing.append(f"judges in {JUDGE_DIR} (make them: python -m paretoslider.rewards.train_judges)")
    if missing:
        raise SystemExit("baselines.demo cannot run; missing:\n  " + "\n  ".join(missing))


def context(budget: int, regime: str, threads: int) -> SuiteContext:
    # a small epoch: 4 prompts x K 2 x G 4 images, 6 sampling steps, 3 trained timesteps
    cfg = TrainConfig(K=2, G=4, sampling_steps=6, timesteps_per_sample=3, lora_rank=8,
                      lora_alpha=16, epochs=10_000, threads=threads, objectives=OBJECTIVES)
    grid = [(1.0, 0.0), (0.75, 0.25), (0.5, 0.5), (0.25, 0.75), (0.0, 1.0)]
    return SuiteContext(objectives=OBJECTIVES, base_cfg=cfg, fixed_grid=grid,
                        budget_passes=budget, budget_regime=regime)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=int, default=12_000, help="denoiser passes per method")
    p.add_argument("--regime", default="equal_total", choices=("equal_total", "per_model"))
    p.add_argument("--methods", default=",".join(METHOD_NAMES))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--samples", type=int, default=8, help="evaluation samples per prompt")
    args = p.parse_args(argv)
    check_assets()
    torch.set_num_threads(args.threads)
    ctx = context(args.budget, args.regime, args.threads)
    prompts = [make_prompt(s) for s in SHAPES]
    rewards = [build_reward(n) for n in OBJECTIVES]
    memo: dict = {}
    print(f"{'method':<22}{'passes':>9}{'images':>8}{'wall s':>8}"
          + "".join(f"{f'w=({w[0]:g},{w[1]:g})':>15}" for w in WS) + "   (photo/sketch)")
    for name in args.methods.split(","):
        start = time.perf_counter()
        run = train_method(name, ctx, prompts, load_base_model, build_reward, memo=memo)
        cost = run.cost()
        cells = []
        for w in WS:
            r = mean_rewards(run.policy(w), prompts, rewards, samples_per_prompt=args.samples)
            cells.append(f"{f'{r[0]:.3f}/{r[1]:.3f}':>15}")
        print(f"{name:<22}{cost.passes:>9}{cost.images:>8}{cost.wall_seconds:>8.1f}"
              + "".join(cells) + f"   ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
