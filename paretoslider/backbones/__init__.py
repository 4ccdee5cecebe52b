"""Backbone registry: a name -> a class building a FlowBackbone from keyword arguments."""
from __future__ import annotations

from paretoslider.registry import Registry

BACKBONES: Registry = Registry("backbone")


def _register_builtin() -> None:
    from paretoslider.backbones.tiny_sd3 import TinySD3

    BACKBONES.register("tiny_sd3")(TinySD3)

    from paretoslider.backbones.sd3 import SD3Backbone

    BACKBONES.register("sd3")(SD3Backbone.from_pretrained)  # SD3.5 from local or cached weights


_register_builtin()


def build_backbone(name: str, **kwargs):
    return BACKBONES.get(name)(**kwargs)
