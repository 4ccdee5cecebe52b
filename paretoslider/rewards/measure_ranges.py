"""`python -m paretoslider.rewards.measure_ranges`: the evidence for the measured rewards'
declared ranges: min, 1st and 99th percentile and max of each on world renders and on
base-model samples, next to the declared range.
"""
from __future__ import annotations

import torch

from paretoslider.rewards import build_reward
from paretoslider.rewards.measures import MEASURES


def measure_ranges(n: int = 4096, seed: int = 777, size: int = 16, base_samples: int = 512):
    """Min, 1st percentile, 99th percentile and max of each measure on world renders and on
    base-model samples (plain shape prompts, 10 Euler steps), the evidence for the ranges."""
    from paretoslider.worlds.pretrain import load_base_model
    from paretoslider.worlds.quality_gate import sample_images
    from paretoslider.worlds.shapes import SHAPES, make_prompt, sample_batch

    renders = torch.cat([sample_batch(1024, seed + i, size).images for i in range(0, n, 1024)])
    prompts = [make_prompt(SHAPES[i % len(SHAPES)]) for i in range(base_samples)]
    base = sample_images(load_base_model(), prompts, seed, steps=10)
    out = {}
    for name in MEASURES:
        reward = build_reward(name)
        for kind, images in (("renders", renders), ("base", base)):
            values = reward(images, [""] * len(images))
            q = torch.quantile(values.float(), torch.tensor([0.0, 0.01, 0.99, 1.0]))
            out[f"{name} {kind}"] = [round(v, 4) for v in q.tolist()]
        out[f"{name} declared"] = list(reward.range)
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    for key, value in measure_ranges().items():
        print(f"{key:34s} {value}")
