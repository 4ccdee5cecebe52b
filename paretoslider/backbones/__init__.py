"""Backbone registry: a name -> a class building a FlowBackbone from keyword arguments."""
from __future__ import annotations

from paretoslider.registry import Registry

BACKBONES: Registry = Registry("backbone")


def _register_builtin() -> None:
    from paretoslider.backbones.tiny_sd3 import TinySD3

    BACKBONES.register("tiny_sd3")(TinySD3)

    from paretoslider.backbones.sd3 import SD3Backbone, SD3World
    from paretoslider.worlds import WORLDS

    BACKBONES.register("sd3")(SD3Backbone.from_pretrained)  # SD3.5 from local or cached weights
    WORLDS.register("sd35")(SD3World)  # suites' `world: sd35`; loads nothing until used


_register_builtin()


def build_backbone(name: str, **kwargs):
    return BACKBONES.get(name)(**kwargs)
