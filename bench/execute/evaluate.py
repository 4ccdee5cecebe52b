"""Evaluation of one policy at one preference: fixed prompts, fixed noise, every scorer.

All methods of a seed see the same prompts and the same initial noise at every w, so
differences between cells come from the models alone; the noise is drawn anew per seed
(see bench.config.suite.Suite.eval_spec). A switching policy (MixturePolicy) sends each row, with
its prompt and noise, to the component drawn for it.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from bench.config.eval_spec import EvalSpec
from paretoslider.methods import MixturePolicy, Policy
from paretoslider.samplers import sample_ode
from paretoslider.trainer.steps import to_unit_images


def _sample(policy: Policy, rows: list[str], noise: torch.Tensor, steps: int,
            batch: int | None = None) -> torch.Tensor:
    if batch is not None and batch < len(rows):
        return torch.cat([_sample(policy, rows[i:i + batch], noise[i:i + batch], steps)
                          for i in range(0, len(rows), batch)])
    model = policy.model
    cond = model.encode_prompts([policy.rewrite(p) for p in rows])
    w = None if policy.w is None else torch.as_tensor(policy.w, dtype=torch.float32)
    w = None if w is None else w.view(1, -1).expand(len(rows), -1)
    return sample_ode(model, noise, cond, w, steps)


@torch.no_grad()
def generate(policy: Policy | MixturePolicy, spec: EvalSpec, decode=to_unit_images) -> torch.Tensor:
    """Decoded samples (images in [0, 1]) for every (prompt, noise) of the spec, at the policy's w."""
    rows = spec.rows()
    if not isinstance(policy, MixturePolicy):
        return decode(_sample(policy, rows, spec.noise(policy.model.image_shape), spec.steps,
                              spec.batch))
    noise = spec.noise(policy.components[0].model.image_shape)
    which = policy.assign(len(rows))
    x0 = torch.empty_like(noise)
    for c, component in enumerate(policy.components):
        idx = torch.nonzero(which == c).flatten()
        if len(idx):
            x0[idx] = _sample(component, [rows[i] for i in idx], noise[idx], spec.steps,
                              spec.batch)
    return decode(x0)


@torch.no_grad()
def score_images(images: torch.Tensor, prompts: list[str], scorers: dict) -> dict[str, np.ndarray]:
    """Per-sample values of every scorer, scored against the ORIGINAL (unrewritten) prompts."""
    out = {}
    for name, fn in scorers.items():
        values = torch.as_tensor(fn(images, prompts), dtype=torch.float32)
        if not torch.isfinite(values).all():
            raise FloatingPointError(f"reward {name} returned NaN or infinite values")
        out[name] = values.numpy()
    return out


def diversity(images: torch.Tensor, spec: EvalSpec) -> float:
    """Mean pairwise RMS distance between samples of the same prompt (0: collapsed)."""
    n = spec.samples_per_prompt
    groups = images.flatten(1).view(len(spec.prompts), n, -1)
    d = torch.cdist(groups, groups) / groups.shape[-1] ** 0.5
    return float(d.sum() / (len(spec.prompts) * n * max(1, n - 1)))


def drift(images: torch.Tensor, base_images: torch.Tensor) -> float:
    """Mean RMS distance to the base model's image from the same prompt and noise."""
    return float(((images - base_images) ** 2).flatten(1).mean(1).sqrt().mean())


def cell_scores(suite, values: dict[str, np.ndarray], images: torch.Tensor,
                base_images: torch.Tensor, spec: EvalSpec) -> dict[str, dict]:
    """A cell's record fields `rewards`, `judges` and `quality` from its per-image `values`
    (scorer -> (N,)): means over the images, the suite's adherence, diversity, drift."""
    means = {k: float(np.mean(v)) for k, v in values.items()}
    judges = dict.fromkeys([*suite.heldout, *suite.adherence_scorers()])
    return {"rewards": {k: means[k] for k in suite.objectives},
            "judges": {k: means[k] for k in judges},
            "quality": {"adherence": means.get(suite.adherence) if suite.adherence else None,
                        "diversity": diversity(images, spec),
                        "drift": drift(images, base_images)}}


def strip_image(images: torch.Tensor, spec: EvalSpec, count: int = 4) -> Image.Image:
    """The first `count` samples of the strip prompt side by side (one cell of a slider strip)."""
    rows = spec.rows()
    prompt = spec.strip_prompt or spec.prompts[0]
    idx = [i for i, p in enumerate(rows) if p == prompt][:count]
    tiles = images[idx].clamp(0, 1)
    grid = torch.cat(list(tiles), dim=2)  # (3, H, count * W)
    return Image.fromarray((grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def world_measures(world, w, samples, base_samples, objectives=()) -> dict:
    """The world's known-answer fields for one cell ({} for worlds without any): its own
    measures, and `truth`, the true optimum at w of objectives with a known front."""
    measure = getattr(world, "measure", None)
    out = {} if measure is None else measure([float(x) for x in w], samples, base_samples)
    known = getattr(world, "known_optimum", None)
    truth = None if known is None else known(list(objectives), [float(x) for x in w])
    return out if truth is None else {**out, "truth": truth}
