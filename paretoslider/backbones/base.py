"""The interface every denoiser backbone offers to samplers, losses and trainers.

A backbone predicts the rectified-flow velocity v = eps - x0 at x_t = (1 - t) x0 + t eps,
for t in [0, 1] (t = 1 is pure noise). It is conditioned on a prompt encoding and, once
`add_preference` was called, on a preference vector w of shape (B, M). `w=None` runs the
model without preference input: the reference behaviour.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

Cond = dict[str, torch.Tensor]  # batch-first tensors describing the prompts


class FlowBackbone(nn.Module):
    image_shape: tuple[int, ...]  # shape of one sample, without the batch dimension
    num_objectives: int | None = None

    def encode_prompts(self, prompts: list[str]) -> Cond:
        raise NotImplementedError

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Cond, w: torch.Tensor | None = None):
        raise NotImplementedError

    def add_preference(self, num_objectives: int, mode: str = "both",
                       projector: str = "zero") -> None:
        """Attach freshly initialised preference modules (see paretoslider.conditioning)."""
        raise NotImplementedError

    def run_transformer(self, w: torch.Tensor | None, **kwargs) -> torch.Tensor:
        """`self.transformer(**kwargs)` with the preference modules fed w (None: reference)."""
        preference = getattr(self, "preference", None)
        if w is not None and preference is None:
            raise ValueError("this backbone has no preference input; call add_preference first")
        if preference is None:
            return self.transformer(**kwargs)[0]
        with preference.given(w):
            return self.transformer(**kwargs)[0]

    def preference_parameters(self) -> list[nn.Parameter]:
        return [] if getattr(self, "preference", None) is None else list(self.preference.parameters())

    def config(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this backbone (weights aside)."""
        raise NotImplementedError


def index_cond(cond: Cond, index: torch.Tensor | slice) -> Cond:
    return {k: v[index] for k, v in cond.items()}


def repeat_cond(cond: Cond, repeats: int) -> Cond:
    """Repeat each prompt's encoding `repeats` times along the batch (repeat_interleave)."""
    return {k: v.repeat_interleave(repeats, dim=0) for k, v in cond.items()}


def cat_cond(conds: list[Cond]) -> Cond:
    return {k: torch.cat([c[k] for c in conds]) for k in conds[0]}
