"""Base-model samples and the base model's quality gate (pretraining checks it; the world
report prints it): held-out shape accuracy >= SHAPE_GATE and every style dominant in
>= STYLE_GATE of the samples."""
from __future__ import annotations

import torch

from paretoslider.rewards import build_reward
from paretoslider.rewards.judges import JUDGE_SPECS
from paretoslider.rewards.measures import MEASURES
from paretoslider.samplers import sample_ode
from paretoslider.worlds.shapes import SHAPES, STYLES, make_prompt, parse_prompt


def sample_images(model, prompts: list[str], seed: int, steps: int, batch: int = 64):
    """Base-model samples in [0, 1] for `prompts`, from seeded noise, in batches."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn((len(prompts), *model.image_shape), generator=gen)
    noise = noise.to(next(model.parameters()).device)  # drawn on CPU: same noise anywhere
    out = []
    for i in range(0, len(prompts), batch):
        cond = model.encode_prompts(prompts[i : i + batch])
        x0 = sample_ode(model, noise[i : i + batch], cond, steps=steps)
        out.append(((x0.clamp(-1, 1) + 1) / 2).cpu())
    return torch.cat(out)


WORLD_REWARDS = (*sorted(JUDGE_SPECS), "adherence_shape", *MEASURES)


def build_world_rewards(judge_dir=None) -> dict:
    return {n: build_reward(n, **({"judge_dir": judge_dir} if n in JUDGE_SPECS else {}))
            for n in WORLD_REWARDS}


@torch.no_grad()
def score_all(images, prompts, rewards: dict) -> dict[str, torch.Tensor]:
    return {name: r(images, prompts).float().cpu() for name, r in rewards.items()}


def style_fractions(scores: dict, suffix: str = "") -> dict[str, float]:
    """Fraction of samples whose dominant style (argmax of the style judges) is each style."""
    dominant = torch.stack([scores[s + suffix] for s in STYLES], dim=1).argmax(dim=1)
    return {s: round((dominant == i).float().mean().item(), 4) for i, s in enumerate(STYLES)}


def shape_accuracy(rewards: dict, name: str, images, prompts) -> float:
    """Share of samples the shape classifier assigns to the prompted shape."""
    with torch.no_grad():
        pred = rewards[name].logits(images).argmax(dim=1).cpu()
    target = torch.tensor([SHAPES.index(parse_prompt(p)[0]) for p in prompts])
    return round((pred == target).float().mean().item(), 4)


# The base model's gate: held-out shape accuracy >= 0.9, every style dominant in >= 10%.
SHAPE_GATE, STYLE_GATE = 0.9, 0.1


def gate_passed(heldout_accuracy: float, fractions: dict[str, float]) -> bool:
    """Shape accuracy by the held-out classifier (a scorer no training used) >= SHAPE_GATE, and
    every style dominant in >= STYLE_GATE of samples (a base model must produce the mixture)."""
    return heldout_accuracy >= SHAPE_GATE and min(fractions.values()) >= STYLE_GATE


def gate_measures(rewards: dict, images, prompts, scores: dict) -> dict:
    """Shape accuracy by both shape classifiers, dominant-style fractions, and the verdict."""
    heldout = shape_accuracy(rewards, "adherence_heldout", images, prompts)
    fractions = style_fractions(scores)
    return {"shape_accuracy_heldout": heldout,
            "shape_accuracy": shape_accuracy(rewards, "adherence", images, prompts),
            "style_fractions": fractions, "passed": gate_passed(heldout, fractions)}


def quality_gate(model, n: int = 512, steps: int = 10, seed: int = 0) -> dict:
    """The gate on `n` samples over plain shape prompts."""
    prompts = [make_prompt(SHAPES[i % len(SHAPES)]) for i in range(n)]
    images = sample_images(model, prompts, seed, steps)
    rewards = build_world_rewards()
    scores = score_all(images, prompts, {k: v for k, v in rewards.items() if k in STYLES})
    return gate_measures(rewards, images, prompts, scores)
