"""`python -m bench.slider`: train ParetoSlider on the default two-objective pair and measure it.

Prints a human-readable summary, then one JSON line with the keys `spearman`, `range`,
`adherence_before`, `adherence_after`, `images_per_s` and `time_fraction`
(`model`, `rewards`, `other`). This is a benchmark, not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import yaml
from omegaconf import OmegaConf
from scipy.stats import spearmanr

from bench.evaluate import EvalSpec, generate, score_images
from bench.run import CONF
from bench.suite import load_suite
from paretoslider.methods import Policy
from paretoslider.rewards import build_reward
from paretoslider.trainer import Trainer
from paretoslider.worlds.pretrain import load_base_model


def sweep(model, spec: EvalSpec, ws, scorers) -> list[dict[str, float]]:
    """Mean score of every scorer at each w of the sweep."""
    out = []
    for w in ws:
        images = generate(Policy(model, None if w is None else np.asarray(w, "float32")), spec)
        values = score_images(images, spec.rows(), scorers)
        out.append({k: float(v.mean()) for k, v in values.items()})
    return out


def _value(text: str):
    """A command-line value: number if it reads as one (YAML takes 1e-3 for a string)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return yaml.safe_load(text)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="two_obj")
    p.add_argument("--seconds", type=float, default=300.0, help="training time budget")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("overrides", nargs="*", help="trainer settings, e.g. lr=1e-3 K=4")
    args = p.parse_args(argv)
    suite = load_suite(OmegaConf.to_container(OmegaConf.load(CONF / "suite" / f"{args.suite}.yaml")))
    settings = {k: _value(v) for k, v in (o.split("=", 1) for o in args.overrides)}
    cfg = replace(suite.train_config(), seed=args.seed, threads=args.threads,
                  objectives=tuple(suite.objectives), budget_passes=None, progress=False,
                  **settings)
    spec = EvalSpec(suite.prompts, **suite.eval)
    scorers = {n: build_reward(n) for n in suite.scorers()}
    adherence = suite.adherence or suite.objectives[0]
    before = sweep(load_base_model(), spec, [None], scorers)[0][adherence]

    trainer = Trainer(load_base_model(), [build_reward(n) for n in suite.objectives],
                      suite.prompts, cfg)
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        trainer.train(epochs=trainer.epoch + 1)
    cost = trainer.cost
    ws = [np.array([a, 1 - a]) for a in np.linspace(0, 1, 11)]
    means = sweep(trainer.policy.eval(), spec, [w.astype("float32") for w in ws], scorers)
    r1 = np.array([m[suite.objectives[0]] for m in means])
    lo, hi = build_reward(suite.objectives[0]).range
    result = {
        "spearman": float(spearmanr([w[0] for w in ws], r1).statistic),
        "range": float((r1.max() - r1.min()) / (hi - lo)),
        "adherence_before": before,
        "adherence_after": float(np.mean([m[adherence] for m in means])),
        "images_per_s": cost.images / cost.wall_seconds,
        "time_fraction": {"model": cost.model_seconds / cost.wall_seconds,
                          "rewards": cost.reward_seconds / cost.wall_seconds,
                          "other": cost.other_seconds / cost.wall_seconds},
        "epochs": trainer.epoch, "train_seconds": cost.wall_seconds,
        "sweep": {suite.objectives[0]: r1.round(4).tolist()},
    }
    print(f"trained {trainer.epoch} epochs in {cost.wall_seconds:.0f} s "
          f"({result['images_per_s']:.1f} images/s)")
    print(f"Spearman(w1, {suite.objectives[0]}) = {result['spearman']:.3f}, "
          f"range = {result['range']:.3f} of the declared span")
    print(f"{adherence}: {before:.3f} before, {result['adherence_after']:.3f} after")
    tf = result["time_fraction"]
    print(f"time: model {tf['model']:.1%}, rewards {tf['rewards']:.1%}, other {tf['other']:.1%}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
