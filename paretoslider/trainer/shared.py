"""Frozen models that are the policy's own transformer run differently, not copies of it.

At SD3.5 scale a copy of the transformer is 4.6 GB; the old policy and the reference need
only other values of the few trained tensors (LoRA and preference weights), or the LoRA
switched off. A `SharedModelView` runs the policy's module with its trained tensors swapped
for the view's (`torch.func.functional_call`: nothing is written into the policy, so a
pending backward of the policy is untouched) or with every adapter disabled. It offers what
the trainer reads from a frozen model: calls, `named_parameters` (its own tensors, which the
EMA update and checkpoints write in place) and the backbone's other attributes.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.func import functional_call


@contextmanager
def adapters_disabled(model: nn.Module):
    """Run `model` with every peft adapter off (its base layers only), as the reference."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    layers = [m for m in model.modules() if isinstance(m, BaseTunerLayer)]
    # peft's enable_adapters also sets requires_grad: the flags are put back as they were
    flags = [(p, p.requires_grad) for m in layers for p in m.parameters()]
    for layer in layers:
        layer.enable_adapters(False)
    try:
        yield
    finally:
        for layer in layers:
            layer.enable_adapters(True)
        for p, flag in flags:
            p.requires_grad_(flag)


class SharedModelView:
    """`model` run without gradients, with `tensors` (name -> tensor) in place of its
    parameters of those names, or with its adapters disabled (`adapters=False`)."""

    def __init__(self, model: nn.Module, tensors: dict[str, torch.Tensor] | None = None,
                 adapters: bool = True):
        self.model, self.tensors, self.adapters = model, dict(tensors or {}), adapters

    def _swapped(self) -> dict[str, torch.Tensor]:
        params = dict(self.model.named_parameters())
        # in the parameter's dtype, as a copy of the model holding these values would run
        return {n: t if t.dtype == params[n].dtype else t.to(params[n].dtype)
                for n, t in self.tensors.items()}

    def __call__(self, *args, **kwargs):
        with torch.no_grad():
            if not self.adapters:
                with adapters_disabled(self.model):
                    return self.model(*args, **kwargs)
            return functional_call(self.model, self._swapped(), args, kwargs, strict=False)

    def named_parameters(self, *args, **kwargs) -> Iterator[tuple[str, torch.Tensor]]:
        return iter(self.tensors.items())

    def parameters(self, *args, **kwargs) -> Iterator[torch.Tensor]:
        return iter(self.tensors.values())

    def requires_grad_(self, requires_grad: bool = True) -> SharedModelView:
        return self  # a view never trains

    def eval(self) -> SharedModelView:
        return self

    def train(self, mode: bool = True) -> SharedModelView:
        return self

    def __getattr__(self, name: str):
        if name in ("model", "tensors", "adapters"):  # not set yet (unpickling, copying)
            raise AttributeError(name)
        return getattr(self.model, name)
