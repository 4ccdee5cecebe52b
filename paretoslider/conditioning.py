"""Preference conditioning for diffusers' SD3Transformer2DModel (tiny or SD3.5 alike).

Two paths carry w into the network:
- time-embedding path: Linear(M, D) -> SiLU -> Linear(D, D), added to the timestep + pooled
  text embedding, so it reaches every adaLN modulation. The last layer starts with weights
  of std 1e-3 and zero bias: near the reference at the start.
- block path: a sinusoidal code (sin(pi w), cos(pi w)) -> Linear -> 4-layer ReLU MLP -> one
  vector shared by all blocks, added to the image stream after each block's feed-forward,
  multiplied by that block's own MLP gate. Two variants of this projector (`projector`):
  - "zero": Linear -> 4 x (ReLU, Linear) -> ReLU -> Linear, the last layer at zero, so the
    conditioned model starts exactly at the reference model whatever w is;
  - "authors": the authors' layout, Linear(2M, 768) -> Linear(768, D) with no activation
    between them -> 3 x (ReLU, Linear(D, D)), all in PyTorch's default initialisation, so
    the block vector is non-zero from the first step.

The modules attach through forward hooks, so the transformer class stays diffusers' own and
LoRA adapters injected by peft into its attention projections keep working. Under gradient
checkpointing each block runs again in backward, after `given` has closed: `attach` then
installs a checkpoint function that passes the block vector as an explicit input of the
checkpointed call, so the recomputation adds the same term as the forward did.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from functools import partial

import torch
import torch.utils.checkpoint
from torch import nn

MODES = ("temb", "block", "both")
PROJECTORS = ("zero", "authors")
AUTHORS_CODE_WIDTH = 768  # the authors' first projection of the sinusoidal code


def sinusoidal_code(w: torch.Tensor) -> torch.Tensor:
    """(B, M) -> (B, 2M): [sin(pi w), cos(pi w)]."""
    return torch.cat([torch.sin(math.pi * w), torch.cos(math.pi * w)], dim=-1)


def _zero_projector(num_objectives: int, hidden: int, dim: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(2 * num_objectives, hidden)]
    for _ in range(4):
        layers += [nn.ReLU(), nn.Linear(hidden, hidden)]
    layers += [nn.ReLU(), nn.Linear(hidden, dim)]
    mlp = nn.Sequential(*layers)
    nn.init.zeros_(mlp[-1].weight)
    nn.init.zeros_(mlp[-1].bias)
    return mlp


def _authors_projector(num_objectives: int, dim: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(2 * num_objectives, AUTHORS_CODE_WIDTH),
                               nn.Linear(AUTHORS_CODE_WIDTH, dim)]
    for _ in range(3):
        layers += [nn.ReLU(), nn.Linear(dim, dim)]
    return nn.Sequential(*layers)


class PreferenceConditioning(nn.Module):
    def __init__(self, num_objectives: int, dim: int, mode: str = "both",
                 block_hidden: int | None = None, projector: str = "zero"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown preference mode {mode!r}; known: {', '.join(MODES)}")
        if projector not in PROJECTORS:
            known = ", ".join(PROJECTORS)
            raise ValueError(f"unknown block projector {projector!r}; known: {known}")
        self.num_objectives, self.dim, self.mode = num_objectives, dim, mode
        self.temb_mlp = self.block_mlp = None
        if mode in ("temb", "both"):
            self.temb_mlp = nn.Sequential(nn.Linear(num_objectives, dim), nn.SiLU(), nn.Linear(dim, dim))
            nn.init.normal_(self.temb_mlp[-1].weight, std=1e-3)
            nn.init.zeros_(self.temb_mlp[-1].bias)
        if mode in ("block", "both"):
            self.block_mlp = (_zero_projector(num_objectives, block_hidden or dim, dim)
                              if projector == "zero" else _authors_projector(num_objectives, dim))
        self._w: torch.Tensor | None = None
        self._block_vec: torch.Tensor | None = None
        self._gates: dict[int, torch.Tensor] = {}
        self._handles: list = []

    # ------------------------------------------------------------------ attaching
    def attach(self, transformer: nn.Module) -> None:
        """Hook into `transformer.time_text_embed` and every `transformer.transformer_blocks[i]`.
        Enable gradient checkpointing before attaching (or attach again after)."""
        self.detach()
        if getattr(transformer, "is_gradient_checkpointing", False):
            transformer.enable_gradient_checkpointing(self._checkpointed_block)
        self._handles.append(transformer.time_text_embed.register_forward_hook(self._temb_hook))
        for i, block in enumerate(transformer.transformer_blocks):
            # partial of bound methods (not closures): deepcopy of the model then re-points
            # the hooks at the copied conditioning module, as an EMA copy needs.
            self._handles.append(block.norm1.register_forward_hook(partial(self._gate_hook, i)))
            self._handles.append(block.register_forward_hook(partial(self._block_hook, i)))

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    @contextmanager
    def given(self, w: torch.Tensor | None):
        """Run the transformer inside this context to condition it on w; None = no preference."""
        if w is not None and (w.ndim != 2 or w.shape[1] != self.num_objectives):
            raise ValueError(f"w must have shape (B, {self.num_objectives}), got {tuple(w.shape)}")
        self._w = w
        self._block_vec = None if w is None or self.block_mlp is None else self.block_mlp(sinusoidal_code(w))
        try:
            yield
        finally:
            self._w, self._block_vec, self._gates = None, None, {}

    # ------------------------------------------------------------------ checkpointing
    def _checkpointed_block(self, block: nn.Module, *args):
        """diffusers' `_gradient_checkpointing_func(block, *args)`, with the block vector of
        this forward saved as an input: recomputation in backward sees it too."""
        return torch.utils.checkpoint.checkpoint(
            self._run_block, block, self._block_vec, *args, use_reentrant=False)

    def _run_block(self, block: nn.Module, block_vec: torch.Tensor | None, *args):
        saved = self._block_vec
        self._block_vec = block_vec
        try:
            return block(*args)
        finally:
            self._block_vec = saved

    # ------------------------------------------------------------------ hooks
    def _temb_hook(self, module, inputs, output):
        if self._w is None or self.temb_mlp is None:
            return output
        return output + self.temb_mlp(self._w.to(output.dtype))

    def _gate_hook(self, index: int, module, inputs, output):
        if self._block_vec is not None:
            self._gates[index] = output[4]  # AdaLayerNormZero: (x, gate_msa, shift, scale, gate_mlp)
        return output

    def _block_hook(self, index: int, module, inputs, output):
        if self._block_vec is None:
            return output
        context, hidden = output
        gate = self._gates.pop(index)
        return context, hidden + (gate * self._block_vec.to(hidden.dtype)).unsqueeze(1)
