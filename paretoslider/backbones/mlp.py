"""A tiny MLP flow model over vectors: the backbone of the gauss known-answer world.

w enters like METHOD.md's time-embedding path: Linear(M -> D), SiLU, Linear(D -> D), last
layer drawn with std 1e-3 and zero bias, added to the time embedding, so a fresh preference
module leaves the model almost exactly at its reference behaviour. There are no transformer
blocks, so the block path does not exist here ("both" and "time" mean the same).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from paretoslider.backbones.base import Cond, FlowBackbone


def sinusoidal(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    # geometric frequencies 1 .. 100 resolve both coarse and fine changes of t in [0, 1]
    freqs = torch.exp(torch.linspace(0.0, math.log(100.0), half, dtype=t.dtype))
    ang = t[:, None] * freqs[None]
    return torch.cat([ang.sin(), ang.cos()], dim=1)


class TimePreference(nn.Module):
    def __init__(self, num_objectives: int, dim: int):
        super().__init__()
        self.inp = nn.Linear(num_objectives, dim)
        self.out = nn.Linear(dim, dim)
        nn.init.normal_(self.out.weight, std=1e-3)
        nn.init.zeros_(self.out.bias)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.out(nn.functional.silu(self.inp(w)))


class Block(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(hidden, hidden)
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(nn.functional.silu(self.fc1(nn.functional.silu(h + temb))))


class MLPFlow(FlowBackbone):
    def __init__(self, dim: int = 2, hidden: int = 64, depth: int = 2, time_dim: int = 32):
        super().__init__()
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self._config = {"dim": dim, "hidden": hidden, "depth": depth, "time_dim": time_dim}
        self.image_shape = (dim,)
        self.time_dim = time_dim
        self.time = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(Block(hidden) for _ in range(depth))
        self.out = nn.Linear(hidden, dim)
        self.preference: TimePreference | None = None
        self.num_objectives = None

    def encode_prompts(self, prompts: list[str]) -> Cond:
        # the gauss world has one unconditional distribution; keep a batch-first placeholder
        return {"null": torch.zeros(len(prompts), 1)}

    def add_preference(self, num_objectives: int, mode: str = "both",
                       projector: str = "zero") -> None:
        if mode not in ("both", "time"):
            raise ValueError(f"MLPFlow supports preference mode 'both' or 'time', got {mode!r}")
        if projector != "zero":
            raise ValueError(f"MLPFlow has no block path, so no block projector {projector!r}")
        hidden = self.inp.out_features
        self.preference = TimePreference(num_objectives, hidden)
        self.num_objectives = num_objectives

    def forward(self, x_t, t, cond: Cond, w: torch.Tensor | None = None) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x_t.dtype).expand(x_t.shape[0])
        temb = self.time(sinusoidal(t, self.time_dim))
        if w is not None:
            if self.preference is None:
                raise ValueError("w was given but add_preference was never called")
            if w.shape != (x_t.shape[0], self.num_objectives):
                want = (x_t.shape[0], self.num_objectives)
                raise ValueError(f"w must be {want}, got {tuple(w.shape)}")
            temb = temb + self.preference(w.to(x_t.dtype))
        h = self.inp(x_t)
        for block in self.blocks:
            h = block(h, temb)
        return self.out(nn.functional.silu(h))

    def decode(self, x0: torch.Tensor) -> torch.Tensor:
        """Rewards of the gauss world read the raw vectors."""
        return x0

    def config(self) -> dict[str, Any]:
        return dict(self._config)
