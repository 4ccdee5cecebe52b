"""`python -m bench.tune suite=<name>`: one tuning procedure for every trained method.

Each trained method gets a sweep of the same size: 3 values of its step size (lr) x 2 of its
regulariser (lambda_ref for the NFT methods, the KL weight for GRPO), each configuration
trained once (one seed) on the same number of passes (`fraction` of the suite budget,
shared by the method's runs as in the suite). Every configuration is scored by one
criterion on TRAINING rewards: the gain of the method's scalarised reward sum_m w_m r_m over
the base model at the method's own w (ODE samples on the training prompts, fixed noise),
among configurations whose held-out prompt adherence stays within `adherence_drop` of the
base's. The merges are then tuned the same way without training, on the winning
single-reward runs. Writes <results_dir>/tuning/<suite>.{csv,md} and prints the settings
for the suite's `method_options`.
"""
from __future__ import annotations

import copy
import csv
import itertools
import json
import sys
import time
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from bench.run import check_suite_argument

COMMAND = "python -m bench.tune suite={suite}"
STEP_SIZES = [5e-4, 1e-3, 2e-3]
NFT = ("lr", STEP_SIZES, "lambda_ref", [0.3, 1.0])
SWEEPS = {  # option key in method_options -> (knob, values, regulariser, values)
    "paretoslider": NFT,
    "fixed_weight": NFT,
    "rewarded_soups": NFT,  # the single-reward runs shared by the soups and every merge
    "flow_multi": ("lr", STEP_SIZES, "kl_beta", [0.0, 0.04]),
}
LAMBDAS = [0.5, 1.0, 1.5, 2.0, 3.0, 4.0]
MERGES = {  # the same count (6) per merge; density matters only to the pruning merges
    "merging_linear": ("lambda", LAMBDAS, "density", [0.5]),
    "merging_svd": ("lambda", LAMBDAS, "density", [0.5]),
    "merging_cat": ("lambda", LAMBDAS, "density", [0.5]),
    "merging_ties": ("lambda", [1.0, 2.0, 4.0], "density", [0.5, 1.0]),
    "merging_dare_ties": ("lambda", [1.0, 2.0, 4.0], "density", [0.5, 1.0]),
}
METHOD_OF = {"rewarded_soups": "rewarded_soups"}  # option key -> method whose units are trained


def configs(sweep) -> list[dict]:
    k1, v1, k2, v2 = sweep
    return [{k1: a, k2: b} for a, b in itertools.product(v1, v2)]


class Scorer:
    """Training rewards and held-out adherence of ODE samples on fixed noise."""

    def __init__(self, suite, world, n: int):
        from bench.evaluate import EvalSpec

        self.world = world
        self.spec = EvalSpec(suite.prompts, n, suite.eval["steps"], suite.eval["noise_seed"] + 7919)
        self.objectives = list(suite.objectives)
        self.scorers = {o: world.reward(o) for o in [*suite.objectives, suite.adherence]}
        self.adherence = suite.adherence
        self.base = self.means(world.base_model(), None)

    @torch.no_grad()
    def means(self, model, w) -> dict[str, float]:
        from bench.evaluate import generate, score_images
        from paretoslider.methods import Policy

        images = generate(Policy(model, w), self.spec, self.world.decode)
        values = score_images(images, self.spec.rows(), self.scorers)
        return {k: float(v.mean()) for k, v in values.items()}

    def gain(self, m: dict, w) -> float:
        pairs = zip(w, self.objectives, strict=True)
        return sum(float(wi) * (m[o] - self.base[o]) for wi, o in pairs)


def tuned_units(suite, key: str, options: dict, passes: int):
    """The runs a configuration trains, each with its evaluation w's, sharing `passes`."""
    from paretoslider.methods import METHODS

    ctx = suite.context(0)
    ctx.options = {key: options}
    units = METHODS.get(METHOD_OF.get(key, key))().units(ctx)
    if key == "fixed_weight":  # tuned at the centre of the simplex
        centre = tuple([1.0 / suite.M] * suite.M)
        units = [min(units, key=lambda u: sum((a - b) ** 2 for a, b in zip(u.cfg.w_fixed, centre)))]
    out = []
    for u in units:
        cfg = copy.copy(u.cfg)
        cfg.budget_passes, cfg.progress = passes // len(units), False
        ws = [cfg.w_fixed] if cfg.w_fixed is not None else [tuple(w) for w in suite.fixed_grid]
        out.append((u, cfg, ws))
    return out


def run_config(suite, world, scorer, key, options, passes, seed):
    from paretoslider.trainer import Trainer

    gains, adh, trained, epochs = [], [], {}, []
    for u, cfg, ws in tuned_units(suite, key, options, passes):
        cfg.seed = seed
        tr = Trainer(world.base_model(), [world.reward(o) for o in u.objectives], suite.prompts,
                     cfg, decode=world.decode)
        tr.train()
        trained[u.label] = tr.policy.eval()
        epochs.append(tr.epoch)
        for w in ws:
            m = scorer.means(tr.policy, torch.tensor(w) if cfg.w_conditioned else None)
            gains.append(scorer.gain(m, w))
            adh.append(m[scorer.adherence])
    return sum(gains) / len(gains), sum(adh) / len(adh), trained, epochs


def merge_score(suite, world, scorer, name, options, trained):
    from paretoslider.methods import METHODS

    ctx = suite.context(0)
    ctx.options = {name: options}
    base = world.base_model()
    ws = [w for w in suite.fixed_grid if max(w) < 1] or suite.fixed_grid
    gains, adh = [], []
    for w in ws:
        policy = METHODS.get(name)().policy(ctx, trained, base, w)
        m = scorer.means(policy.model, None)
        gains.append(scorer.gain(m, w))
        adh.append(m[scorer.adherence])
    return sum(gains) / len(gains), sum(adh) / len(adh)


def pick(rows: list[dict], floor: float) -> dict:
    ok = [r for r in rows if r["adherence"] >= floor]
    return max(ok, key=lambda r: r["gain"]) if ok else max(rows, key=lambda r: r["adherence"])


def write_tables(out: Path, suite, cfg, rows: list[dict], base: dict, passes: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cols = ["method", "settings", "passes", "epochs", "gain", "adherence", "feasible", "winner"]
    with (out / f"{suite.name}.csv").open("w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        wr.writeheader()
        wr.writerows(rows)
    cmd = COMMAND.format(suite=suite.name) + "".join(
        f" {k}={v}" for k, v in (("fraction", cfg.fraction), ("seed", cfg.seed)))
    floor = base[suite.adherence] - cfg.adherence_drop
    lines = [
        f"# Tuning: {suite.name}", "", f"Command: `{cmd}`", "",
        (f"Each trained method: 6 configurations (3 lr x 2 of its regulariser), {passes} training "
        f"passes each (fraction {cfg.fraction} of the suite budget, shared by its runs as in the "
        f"suite), seed {cfg.seed}. Score: gain of sum_m w_m r_m (training rewards) over the base "
        f"at the method's own w, {cfg.eval_samples} ODE samples per training prompt; allowed only "
        f"if held-out adherence >= base {base[suite.adherence]:.3f} - {cfg.adherence_drop} = "
        f"{floor:.3f}. Merges: 6 settings each, no training, on the winning single-reward runs, "
        f"scored the same way at the interior points of the fixed grid."), "",
        "| method | settings | epochs | gain | adherence | allowed | chosen |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['method']} | `{r['settings']}` | {r['epochs']} | {r['gain']:+.4f} | "
              f"{r['adherence']:.3f} | {'yes' if r['feasible'] else 'no'} | "
              f"{'**yes**' if r['winner'] else ''} |" for r in rows]
    (out / f"{suite.name}.md").write_text("\n".join(lines) + "\n")


def tune(cfg: DictConfig) -> None:
    from bench.suite import load_suite

    raw = OmegaConf.to_container(cfg.suite, resolve=True)
    if not 0 < float(cfg.fraction) <= 1:
        sys.exit(f"error: fraction must be in (0, 1], got {cfg.fraction}")
    known = [*SWEEPS, *MERGES]
    only = list(cfg.only) if cfg.only else known
    unknown = [m for m in only if m not in known]
    if unknown:
        sys.exit(f"error: cannot tune {unknown}; known: {', '.join(known)}")
    if any(m in MERGES for m in only) and "rewarded_soups" not in only:
        sys.exit("error: merges are tuned on the single-reward runs: add rewarded_soups to only")
    if not raw.get("budget", {}).get("passes"):
        sys.exit("error: the suite has no budget.passes to take a fraction of")
    suite = load_suite(raw)
    torch.set_num_threads(int(cfg.threads))
    world = suite.build_world()
    scorer = Scorer(suite, world, int(cfg.eval_samples))
    floor = scorer.base[suite.adherence] - float(cfg.adherence_drop)
    passes = int(float(cfg.fraction) * suite.budget["passes"])
    rows, chosen, singles = [], {}, {}
    for key in [k for k in SWEEPS if k in only]:
        mine = []
        for opts in configs(SWEEPS[key]):
            start = time.perf_counter()
            gain, adh, trained, epochs = run_config(suite, world, scorer, key, opts, passes,
                                                    cfg.seed)
            mine.append({"method": key, "settings": json.dumps(opts), "passes": passes,
                         "epochs": "/".join(map(str, epochs)), "gain": gain, "adherence": adh,
                         "feasible": adh >= floor, "winner": False, "_trained": trained})
            print(f"{key} {opts}: gain {gain:+.4f} adherence {adh:.3f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
        best = pick(mine, floor)
        best["winner"], chosen[key] = True, json.loads(best["settings"])
        if key == "rewarded_soups":
            singles = best["_trained"]
        rows += mine
    for name in [m for m in MERGES if m in only]:
        mine = []
        for opts in configs(MERGES[name]):
            gain, adh = merge_score(suite, world, scorer, name, opts, singles)
            mine.append({"method": name, "settings": json.dumps(opts), "passes": 0, "epochs": "-",
                         "gain": gain, "adherence": adh, "feasible": adh >= floor, "winner": False})
            print(f"{name} {opts}: gain {gain:+.4f} adherence {adh:.3f}", flush=True)
        best = pick(mine, floor)
        best["winner"], chosen[name] = True, json.loads(best["settings"])
        rows += mine
    write_tables(Path(cfg.results_dir) / "tuning", suite, cfg, rows, scorer.base, passes)
    print(f"base: {json.dumps({k: round(v, 4) for k, v in scorer.base.items()})}")
    print("chosen (method_options):")
    print(OmegaConf.to_yaml(OmegaConf.create(chosen)))


@hydra.main(config_path="conf", config_name="tune", version_base=None)
def _main(cfg: DictConfig) -> None:
    tune(cfg)


def main() -> None:
    check_suite_argument(sys.argv[1:])
    _main()


if __name__ == "__main__":
    main()
