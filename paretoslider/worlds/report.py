"""What the shapes world offers to post-training: `python -m paretoslider.worlds.report`.

Scores base-model samples with every registered reward and reports how good the judges are,
what the base model produces (shape accuracy, dominant-style fractions), how the rewards
correlate, how far each pair is from being exact complements, and how far style words in the
prompt steer the style, and whether each suite's objective set is a real trade-off
(`objective_sets`). Prompt adherence is measured three ways: the training judge, the held-out
classifier and the silhouette fit (no network, `rewards.silhouette`); the report gives the
silhouette's accuracy on renders, the three's agreement on base-model samples, and on each
method's extreme preferences from the strips a committed run saved (`results/<suite>`).
Human-readable lines first; the last line is the report as JSON.
"""
from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from paretoslider.cli import Parser, existing_file, non_negative_int, positive_int
from paretoslider.rewards import build_reward, normalise
from paretoslider.rewards.judges import read_index
from paretoslider.rewards.silhouette import probabilities, shape_fits, validation_report
from paretoslider.rewards.targets import NAMES_REGISTERED as TARGET_REWARDS
from paretoslider.worlds.objective_sets import (
    COMPLEMENT_GAP,
    MIN_SPREAD,
    SUITE_DIR,
    analyse_set,
    format_set,
    suite_objective_sets,
)
from paretoslider.worlds.quality_gate import (  # noqa: F401  (re-exported: the report's parts)
    SHAPE_GATE,
    STYLE_GATE,
    WORLD_REWARDS,
    build_world_rewards,
    gate_measures,
    gate_passed,
    quality_gate,
    sample_images,
    score_all,
    shape_accuracy,
    style_fractions,
)
from paretoslider.worlds.shapes import SHAPES, STYLES, make_prompt, parse_prompt


def images_per_second(model, steps: int, batch: int = 64) -> float:
    prompts = [make_prompt(SHAPES[i % len(SHAPES)]) for i in range(batch)]
    sample_images(model, prompts[:4], seed=1, steps=1)  # warm-up
    start = time.perf_counter()
    sample_images(model, prompts, seed=1, steps=steps, batch=batch)
    return batch / (time.perf_counter() - start)


# The shapes world's rewards; real-scale ones in the same registry need downloaded weights.
# prompt adherence three ways: training judge, held-out classifier, silhouette (no network)
ADHERENCE_SCORERS = ("adherence", "adherence_heldout", "adherence_shape")
RESULTS_DIR = Path(__file__).resolve().parents[2] / "results"
EXTREMES_SUITE = "two_obj"


def correlations(scores: dict) -> dict[str, dict[str, float | None]]:
    """Pearson correlation of every pair of rewards (None where a reward is constant)."""
    names = list(scores)
    mat = torch.corrcoef(torch.stack([scores[n].double() for n in names]))
    return {a: {b: None if torch.isnan(mat[i, j]) else round(mat[i, j].item(), 4)
                for j, b in enumerate(names)} for i, a in enumerate(names)}


def complement_gaps(scores: dict, ranges: dict, relative: bool = False) -> dict:
    """Std of r_a + r_b, each normalised by its range: 0 for exact complements, r_b = 1 - r_a.

    Unclipped, so that rewards saturating at a range end do not pass for complements. With
    `relative`, divided by std(r_a) + std(r_b): 0 for complements, 1 for r_a = r_b, about 0.7
    for independent rewards of equal spread, None where both are constant.
    """
    norm = {n: normalise(scores[n], ranges[n], clip=False) for n in scores}
    out = {}
    for a, b in itertools.combinations(scores, 2):
        gap = (norm[a] + norm[b]).std(unbiased=False).item()
        if relative:
            spread = (norm[a].std(unbiased=False) + norm[b].std(unbiased=False)).item()
            gap = gap / spread if spread > 1e-12 else None
        out[f"{a}+{b}"] = None if gap is None else round(gap, 4)
    return out


@torch.no_grad()
def shape_labels(rewards: dict, images) -> dict[str, torch.Tensor]:
    """Each adherence scorer's shape (argmax over shapes) for every image."""
    labels = {n: rewards[n].logits(images).argmax(dim=1).cpu() for n in ADHERENCE_SCORERS[:2]}
    labels["adherence_shape"] = probabilities(shape_fits(images)).argmax(dim=1).cpu()
    return labels


def adherence_agreement(rewards: dict, images, prompts, scores: dict | None = None) -> dict:
    """On the same images: each scorer's shape accuracy against the prompts, each classifier's
    accuracy taking the silhouette's labels as the truth, the Pearson correlation of the
    scorers' P(prompted shape) and their means."""
    target = torch.tensor([SHAPES.index(parse_prompt(p)[0]) for p in prompts])
    labels = shape_labels(rewards, images)
    scores = scores or score_all(images, prompts, {n: rewards[n] for n in ADHERENCE_SCORERS})
    corr = correlations({n: scores[n] for n in ADHERENCE_SCORERS})

    def share(a, b):
        return round((a == b).float().mean().item(), 4)

    return {"n": len(prompts),
            "accuracy": {n: share(labels[n], target) for n in ADHERENCE_SCORERS},
            "by_silhouette": {n: share(labels[n], labels["adherence_shape"])
                              for n in ADHERENCE_SCORERS[:2]},
            "correlation": {f"{a}~{b}": corr[a][b]
                            for a, b in itertools.combinations(ADHERENCE_SCORERS, 2)},
            "mean": {n: round(scores[n].float().mean().item(), 4) for n in ADHERENCE_SCORERS}}


def strip_tiles(path: Path) -> torch.Tensor:
    """The square images of a saved strip (side by side), (k, 3, h, h) in [0, 1]."""
    arr = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255
    h = arr.shape[0]
    tiles = [arr[:, i:i + h] for i in range(0, arr.shape[1] - h + 1, h)]
    return torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).contiguous()


def strip_prompt(suite: str) -> str | None:
    """The prompt a suite's strips show: eval.strip_prompt, else its first prompt."""
    from omegaconf import OmegaConf

    path = SUITE_DIR / f"{suite}.yaml"
    if not path.is_file():
        return None
    cfg = OmegaConf.to_container(OmegaConf.load(path))
    prompts = cfg.get("eval_prompts") or cfg.get("prompts") or [None]
    return (cfg.get("eval") or {}).get("strip_prompt") or prompts[0]


def method_extremes(suite_dir: Path, rewards: dict) -> dict:
    """Adherence three ways at each method's one-hot preferences, on the strips its run
    saved (the strip prompt's first samples of every seed, final weights): {"prompt",
    "cells": {"method w=(..)": adherence_agreement}}; {} without records or strips."""
    path = Path(suite_dir) / "records.jsonl"
    records = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            records.append(json.loads(line))
        except ValueError:  # a line cut by an interrupted run
            continue
    prompt = strip_prompt(records[0].get("suite", "")) if records else None
    groups: dict[str, list[Path]] = {}
    for r in records:
        png = Path(suite_dir) / (r.get("sample_png") or "")
        if r.get("checkpoint", 1.0) == 1.0 and max(r["w"]) == 1.0 and png.is_file():
            w = ",".join(f"{x:g}" for x in r["w"])
            groups.setdefault(f"{r['method']} w=({w})", []).append(png)
    if not prompt or not groups:
        return {}
    order = list(dict.fromkeys(r["method"] for r in records))  # the run's method order
    cells = {}
    for key, paths in sorted(groups.items(), key=lambda kv: (kv[0].partition(" ")[2],
                                                            order.index(kv[0].split(" ")[0]))):
        images = torch.cat([strip_tiles(p) for p in sorted(paths)])
        cells[key] = adherence_agreement(rewards, images, [prompt] * len(images))
    return {"suite": Path(suite_dir).name, "prompt": prompt, "cells": cells}


def target_set_checks(images: torch.Tensor) -> dict:
    """Per target set (rewards.targets): every target reachable by base samples (best r_m,
    share with r_m >= 0.5) and the volume of the true front on the anchored grid."""
    from paretoslider.preferences import eval_grid
    from paretoslider.rewards.attributes import attributes
    from paretoslider.rewards.check_targets import set_check
    from paretoslider.rewards.targets import SIZES

    values = {"train": attributes(images).double()}
    out = {}
    for m in SIZES:
        found = set_check(m, values, eval_grid(m, kind="anchored").double().numpy())
        out[f"targets{m}"] = {"best": [round(float(x), 3) for x in found["best"]],
                              "share": [round(float(x), 3) for x in found["share"]],
                              "front_hv": round(found["front_hv"], 4),
                              "reachable": bool(min(found["best"]) >= 0.9),
                              "has_volume": bool(found["front_hv"] > 0)}
    return out


def world_report(model, n: int = 512, steps: int = 10, seed: int = 0, per_style: int = 128,
                 judge_dir=None, speed_batch: int = 64, renders: int = 4096,
                 extremes: Path | None = RESULTS_DIR / EXTREMES_SUITE) -> dict:
    """The report's numbers; `renders` world renders validate the silhouette adherence (0:
    none), `extremes` is a committed suite folder whose strips give each method's extremes."""
    rewards = build_world_rewards(judge_dir)
    train_names = [k for k, r in rewards.items() if not r.heldout]
    prompts = [make_prompt(SHAPES[i % len(SHAPES)]) for i in range(n)]
    images = sample_images(model, prompts, seed, steps)
    scores = score_all(images, prompts, rewards)
    # the target objectives join the suites' set checks only (not the correlation table)
    targets = score_all(images, prompts, {n: build_reward(n) for n in TARGET_REWARDS})
    gate = gate_measures(rewards, images, prompts, scores)
    gate["quality_gate_passed"] = gate.pop("passed")
    steering = {}
    for k, style in enumerate(STYLES):
        p = [make_prompt(SHAPES[i % len(SHAPES)], style) for i in range(per_style)]
        x = sample_images(model, p, seed + 1 + k, steps)
        steering[style] = style_fractions(score_all(x, p, {s: rewards[s] for s in STYLES}))
    index = read_index(judge_dir)
    train_scores = {k: scores[k] for k in train_names}
    train_ranges = {k: rewards[k].range for k in train_names}
    return {
        "judges": {k: v["metrics"]["accuracy"] for k, v in index.items()},
        "base": {
            "samples": n,
            "steps": steps,
            **gate,
            "style_fractions_heldout": style_fractions(scores, "_heldout"),
            "mean_reward": {k: round(v.mean().item(), 4) for k, v in scores.items()},
            "images_per_s": round(images_per_second(model, steps, speed_batch), 1),
            "speed_batch": speed_batch,
        },
        "correlation": correlations(scores),
        "complement_gap": complement_gaps(train_scores, train_ranges),
        "complement_gap_relative": complement_gaps(train_scores, train_ranges, relative=True),
        "style_word_steering": steering,
        "objective_sets": objective_set_checks({**scores, **targets},
                                               {k: r.range for k, r in rewards.items()}
                                               | {k: (0.0, 1.0) for k in targets}),
        "target_sets": target_set_checks(images),
        "adherence": {
            "renders": validation_report(renders) if renders else None,
            "base": adherence_agreement(rewards, images, prompts, scores),
            "extremes": method_extremes(extremes, rewards) if extremes else {}},
    }


def objective_set_checks(scores: dict, ranges: dict, sets: dict | None = None) -> dict:
    """Conflict, complementarity and volume of each suite's objective set (training rewards),
    and each objective's correlation with its held-out twin, on the same samples."""
    sets = suite_objective_sets() if sets is None else sets
    norm = {k: normalise(v, ranges[k], clip=False).double().numpy() for k, v in scores.items()}
    out = {}
    for suite, (objectives, heldout, ref) in sets.items():
        rep = analyse_set({k: norm[k] for k in objectives}, ref)
        rep["twin_corr"] = {a: correlations({a: scores[a], b: scores[b]})[a][b]
                            for a, b in zip(objectives, heldout) if a != b}
        out[suite] = rep
    return out


def format_report(rep: dict) -> str:
    base = rep["base"]
    lines = ["judges (held-out accuracy):"]
    lines += [f"  {k:20s} {v:.4f}" for k, v in rep["judges"].items()]
    lines.append(f"base model, {base['samples']} samples, {base['steps']} steps, "
                 f"{base['images_per_s']} images/s (batch of {base['speed_batch']}):")
    lines.append(f"  shape accuracy {base['shape_accuracy_heldout']:.3f} by the held-out "
                 f"classifier ({base['shape_accuracy']:.3f} by the training judge)")
    lines.append("  dominant style " + "  ".join(f"{k} {v:.2f}"
                                                 for k, v in base["style_fractions"].items()))
    lines.append(f"  quality gate {'passed' if base['quality_gate_passed'] else 'FAILED'} "
                 f"(held-out shape accuracy >= {SHAPE_GATE}, every style >= {STYLE_GATE})")
    lines.append("  mean reward    " + "  ".join(f"{k} {v:.3f}"
                                                 for k, v in base["mean_reward"].items()))
    names = [k for k in rep["correlation"]  # training rewards: no held-out or silhouette score
             if not k.endswith("_heldout") and k != "adherence_shape"]
    lines.append("correlation (training rewards):")
    lines.append(" " * 15 + "".join(f"{k[:7]:>8s}" for k in names))
    for a in names:
        row = rep["correlation"][a]
        lines.append(f"  {a:13s}" + "".join(
            f"{'n/a' if row[b] is None else format(row[b], '.2f'):>8s}" for b in names))
    lines.append("complement gap: std of normalised r_a + r_b (0 = exact complements), and the")
    lines.append("  same relative to std r_a + std r_b (0 complements, ~0.7 independent, 1 equal):")
    for k, v in rep["complement_gap"].items():
        rel = rep["complement_gap_relative"][k]
        lines.append(f"  {k:26s} {v:.3f}  {'n/a' if rel is None else format(rel, '.2f'):>5s}")
    lines.append("style-word steering ('a <style> of a <shape>' -> dominant style fractions):")
    for word, fr in rep["style_word_steering"].items():
        lines.append(f"  {word:11s}" + "  ".join(f"{k} {v:.2f}" for k, v in fr.items()))
    lines.append(f"objective sets of the suites (conflict: every pair corr < 0; complementary: "
                 f"gap < {COMPLEMENT_GAP}; volume: every 5-95% spread >= {MIN_SPREAD}):")
    for suite, srep in rep.get("objective_sets", {}).items():
        lines += format_set(suite, srep, srep.get("twin_corr"))
    lines.append("target sets (every target reachable: best base sample r_m >= 0.9; the true "
                 "front's HV on the anchored grid, reference 0):")
    for name, t in rep.get("target_sets", {}).items():
        verdict = "passes" if t["reachable"] and t["has_volume"] else "fails"
        lines.append(f"  {name}: {verdict}; best r_m {t['best']}, share r_m >= 0.5 "
                     f"{t['share']}, true front HV {t['front_hv']:.4f}")
    return "\n".join(lines + format_adherence(rep.get("adherence") or {}))


def format_adherence(adh: dict) -> list[str]:
    """The lines on prompt adherence measured three ways."""
    three = "training judge / held-out classifier / silhouette"
    lines = [f"prompt adherence three ways ({three}; the silhouette uses no network):"]
    ren = adh.get("renders")
    if ren:
        worst = min(ren["per_style"].items(), key=lambda kv: kv[1]["accuracy"])
        lines.append(f"  silhouette on {ren['n']} renders: shape accuracy {ren['accuracy']:.4f} "
                     f"(lowest: {worst[0]} {worst[1]['accuracy']:.4f}), "
                     f"{ren['images_per_s']:.0f} images/s on 1 thread")

    def block(a: dict) -> str:
        acc, by = a["accuracy"], a["by_silhouette"]
        return (" / ".join(f"{acc[k]:.3f}" for k in ADHERENCE_SCORERS) + "; classifiers "
                "right by the silhouette's labels " + " / ".join(f"{by[k]:.3f}" for k in by))

    base = adh.get("base")
    if base:
        lines.append(f"  base samples (n={base['n']}): shape accuracy {block(base)}")
        lines.append("  correlation of P(prompted shape): " + ", ".join(
            f"{k.replace('~', ' ~ ')} {'n/a' if v is None else format(v, '.2f')}"
            for k, v in base["correlation"].items()))
    ext = adh.get("extremes") or {}
    if ext:
        lines.append(f"  one-hot w of each method in results/{ext['suite']} (prompt "
                     f"{ext['prompt']!r}, the strips' samples of every seed, final weights): "
                     f"mean P(prompted shape) {three}; shape accuracy; agreement")
        for key, a in ext["cells"].items():
            mean = " / ".join(f"{a['mean'][k]:.2f}" for k in ADHERENCE_SCORERS)
            lines.append(f"    {key:34s} P {mean}  accuracy {block(a)} (n={a['n']})")
    else:
        lines.append("  no committed strips to score each method's extremes with")
    return lines


def main(argv=None) -> None:
    p = Parser(description="Report on the shapes world's rewards and base model.")
    p.add_argument("--n", type=positive_int, default=512,
                   help="base-model samples over plain prompts")
    p.add_argument("--per-style", type=positive_int, default=128, help="samples per style word")
    p.add_argument("--steps", type=positive_int, default=10, help="Euler sampling steps")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--threads", type=positive_int, default=1)
    p.add_argument("--renders", type=non_negative_int, default=4096,
                   help="world renders to validate the silhouette adherence on (0: skip)")
    p.add_argument("--weights", type=existing_file,
                   help="base model weights (default: the committed ones)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    from paretoslider.worlds.pretrain import load_base_model

    try:
        model = load_base_model(a.weights) if a.weights else load_base_model()
    except FileNotFoundError as exc:
        raise SystemExit(f"error: {exc}") from None
    rep = world_report(model, a.n, a.steps, a.seed, a.per_style, renders=a.renders)
    print(format_report(rep))
    print(json.dumps(rep))


if __name__ == "__main__":
    main()

