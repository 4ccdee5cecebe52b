"""Compute accounting: denoiser passes counted per sample, images, steps, time, bytes."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass


@dataclass
class Cost:
    forward_passes: int = 0  # a batch of B through the denoiser counts B
    backward_passes: int = 0  # likewise, per sample
    images: int = 0
    optimizer_steps: int = 0
    wall_seconds: float = 0.0
    model_seconds: float = 0.0  # sampling and updates
    reward_seconds: float = 0.0
    checkpoint_bytes: int = 0  # size of the latest checkpoint on disk

    @property
    def passes(self) -> int:
        return self.forward_passes + self.backward_passes

    @property
    def other_seconds(self) -> float:
        return max(0.0, self.wall_seconds - self.model_seconds - self.reward_seconds)

    def to_dict(self) -> dict:
        return asdict(self) | {"passes": self.passes, "other_seconds": self.other_seconds}

    @classmethod
    def from_dict(cls, d: dict) -> Cost:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@contextmanager
def timed(cost: Cost | None, attr: str):
    """Add the block's wall time to cost.<attr>."""
    start = time.perf_counter()
    try:
        yield
    finally:
        if cost is not None:
            setattr(cost, attr, getattr(cost, attr) + time.perf_counter() - start)
