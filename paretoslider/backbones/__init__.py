"""Backbone registry: a name -> a callable building a FlowBackbone from keyword arguments.

Builders import their module on first use, so importing the registry stays cheap.
"""
from __future__ import annotations

from paretoslider.registry import Registry

BACKBONES: Registry = Registry("backbone")


@BACKBONES.register("tiny_sd3")
def _tiny_sd3(**kwargs):
    from paretoslider.backbones.tiny_sd3 import TinySD3

    return TinySD3(**kwargs)


@BACKBONES.register("mlp")
def _mlp(**kwargs):
    from paretoslider.backbones.mlp import MLPFlow

    return MLPFlow(**kwargs)


@BACKBONES.register("sd3")
def _sd3(**kwargs):
    """SD3.5 from local or cached weights (a clear error names what is missing)."""
    from paretoslider.backbones.sd3 import SD3Backbone

    return SD3Backbone.from_pretrained(**kwargs)


def build_backbone(name: str, **kwargs):
    return BACKBONES.get(name)(**kwargs)
