"""Backbone registry: a name -> a class building a FlowBackbone from keyword arguments."""
from __future__ import annotations

from paretoslider.registry import Registry

BACKBONES: Registry = Registry("backbone")


def _register_builtin() -> None:
    from paretoslider.backbones.tiny_sd3 import TinySD3

    BACKBONES.register("tiny_sd3")(TinySD3)


_register_builtin()


def build_backbone(name: str, **kwargs):
    return BACKBONES.get(name)(**kwargs)
