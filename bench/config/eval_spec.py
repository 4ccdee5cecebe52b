"""The evaluation protocol of a suite: prompts, samples per prompt, sampling steps and the
noise every method of a seed shares, so that differences between methods are paired."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class EvalSpec:
    prompts: list[str]
    samples_per_prompt: int
    steps: int
    noise_seed: int
    strip_prompt: str | None = None
    batch: int | None = None  # rows sampled per model call (memory); the samples are the same

    def rows(self) -> list[str]:
        return [p for p in self.prompts for _ in range(self.samples_per_prompt)]

    def noise(self, image_shape) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.noise_seed)
        return torch.randn((len(self.rows()), *image_shape), generator=gen)
