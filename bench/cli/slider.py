"""`python -m bench.slider`: train ParetoSlider on one suite's objectives and measure it.

The budget is counted in denoiser passes (default: the suite's per-method budget) or epochs,
never in seconds, so the numbers do not depend on how busy the machine is; only
`images_per_s` does. One torch thread by default.
Prints a human-readable summary, then one JSON line with the keys `spearman`, `range`,
`adherence_before`, `adherence_after`, `images_per_s` and `time_fraction`
(`model`, `rewards`, `other`). For M >= 3 objectives it also prints, on the held-out judges over
the suite's grid, Spearman(w_m, r_m) per objective (`spearman_heldout`) and each objective's
score at its own vertex (`vertex_heldout`). This is a benchmark, not a test: it prints numbers.
"""
from __future__ import annotations

import json
import sys
from dataclasses import fields, replace

import numpy as np
import yaml
from scipy.stats import spearmanr

from bench.config.eval_spec import EvalSpec
from bench.config.suite import SuiteError, load_suite, read_suite_file
from bench.config.suite_files import known_suites
from bench.execute.evaluate import generate, score_images
from bench.metrics import control as ctl
from bench.metrics.front import normalise
from paretoslider.cli import Parser, non_negative_int, positive_int
from paretoslider.methods import METHODS, Policy
from paretoslider.rewards import build_reward
from paretoslider.trainer import TrainConfig, Trainer
from paretoslider.worlds.pretrain import load_base_model


def sweep(model, spec: EvalSpec, ws, scorers) -> list[dict[str, float]]:
    """Mean score of every scorer at each w of the sweep."""
    out = []
    for w in ws:
        images = generate(Policy(model, None if w is None else np.asarray(w, "float32")), spec)
        values = score_images(images, spec.rows(), scorers)
        out.append({k: float(v.mean()) for k, v in values.items()})
    return out


def per_objective(ws: np.ndarray, means: list[dict], names: list[str]) -> dict:
    """Spearman(w_m, r_m) per objective over the sweep and r_m at w = e_m (normalised by its
    declared range, as the leaderboard does), on the judges `names`."""
    ranges = [build_reward(n).range for n in names]
    r = normalise([[m[n] for n in names] for m in means], ranges)
    vertex = [int(np.argmax(ws[:, j])) for j in range(len(names))]
    return {"spearman_heldout": ctl.spearman(ws, r),
            "vertex_heldout": [float(r[v, j]) for j, v in enumerate(vertex)]}


def _value(text: str):
    """A command-line value: number if it reads as one (YAML takes 1e-3 for a string)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return yaml.safe_load(text)


def slider_config(suite, seed: int) -> TrainConfig:
    """The slider's trainer config in the suite (its method_options included), budget aside."""
    return METHODS.get("paretoslider")().units(suite.context(seed))[0].cfg


def _settings(overrides: list[str], suite, args):
    """The trainer's config with the command line's key=value settings; raises ValueError."""
    pairs = [o.partition("=") for o in overrides]
    bad = [k for k, sep, _ in pairs if not sep or not k]
    if bad:
        raise ValueError(f"expected key=value, got {bad[0]!r}")
    settings = {k: _value(v) for k, _, v in pairs}
    known = {f.name for f in fields(TrainConfig)}
    unknown = [k for k in settings if k not in known]
    if unknown:
        raise ValueError(f"unknown trainer setting {unknown[0]!r}; "
                         f"known: {', '.join(sorted(known))}")
    passes = args.passes or (None if args.epochs else suite.budget.get("passes"))
    try:
        return replace(slider_config(suite, args.seed), threads=args.threads,
                       objectives=tuple(suite.objectives), budget_passes=passes,
                       progress=False, **({"epochs": args.epochs} if args.epochs else {}),
                       **settings)
    except TypeError as exc:  # a setting given twice (epochs=N beside --epochs)
        raise ValueError(str(exc).replace("__init__() ", "")) from None


def main(argv=None) -> dict:
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="two_obj", choices=known_suites())
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--passes", type=positive_int,
                        help="training budget in denoiser passes (default: the suite's budget)")
    budget.add_argument("--epochs", type=positive_int, help="training budget in epochs")
    p.add_argument("--threads", type=positive_int, default=1)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("overrides", nargs="*", help="trainer settings, e.g. lr=1e-3 K=4")
    args = p.parse_args(argv)
    try:
        suite = load_suite(read_suite_file(args.suite))
        if suite.world != "shapes":
            raise SuiteError(f"suite {args.suite} is not a shapes-world suite")
        cfg = _settings(args.overrides, suite, args)
    except (SuiteError, ValueError) as exc:
        sys.exit(f"error: {exc}")
    spec = suite.eval_spec(args.seed)
    scorers = {n: build_reward(n) for n in suite.scorers()}
    adherence = suite.adherence or suite.objectives[0]
    before = sweep(load_base_model(), spec, [None], scorers)[0][adherence]

    trainer = Trainer(load_base_model(), [build_reward(n) for n in suite.objectives],
                      suite.prompts, cfg)
    trainer.train()
    if trainer.epoch == 0:
        sys.exit(f"error: a budget of {cfg.budget_passes} passes is less than one epoch "
                 f"({trainer.epoch_passes()} passes)")
    cost = trainer.cost
    ws = suite.eval_ws() if suite.M > 2 else np.array([[a, 1 - a] for a in np.linspace(0, 1, 11)])
    means = sweep(trainer.policy.eval(), spec, [w.astype("float32") for w in ws], scorers)
    r1 = np.array([m[suite.objectives[0]] for m in means])
    lo, hi = build_reward(suite.objectives[0]).range
    result = {
        "spearman": float(spearmanr(ws[:, 0], r1).statistic),
        "range": float((r1.max() - r1.min()) / (hi - lo)),
        "adherence_before": before,
        "adherence_after": float(np.mean([m[adherence] for m in means])),
        "images_per_s": cost.images / cost.wall_seconds,
        "time_fraction": {"model": cost.model_seconds / cost.wall_seconds,
                          "rewards": cost.reward_seconds / cost.wall_seconds,
                          "other": cost.other_seconds / cost.wall_seconds},
        "epochs": trainer.epoch, "passes": cost.passes, "train_seconds": cost.wall_seconds,
        "sweep": {suite.objectives[0]: r1.round(4).tolist()},
    }
    if suite.M > 2:
        result.update(per_objective(ws, means, suite.heldout))
    print(f"trained {trainer.epoch} epochs ({cost.passes} passes) in {cost.wall_seconds:.0f} s "
          f"on {cfg.threads} thread(s) ({result['images_per_s']:.1f} images/s)")
    print(f"Spearman(w1, {suite.objectives[0]}) = {result['spearman']:.3f}, "
          f"range = {result['range']:.3f} of the declared span")
    print(f"{adherence}: {before:.3f} before, {result['adherence_after']:.3f} after")
    tf = result["time_fraction"]
    print(f"time: model {tf['model']:.1%}, rewards {tf['rewards']:.1%}, other {tf['other']:.1%}")
    if suite.M > 2:
        for name, rho, top in zip(suite.heldout, result["spearman_heldout"],
                                  result["vertex_heldout"]):
            print(f"{name}: Spearman {rho:.3f}, at its vertex {top:.3f}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
