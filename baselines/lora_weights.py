"""LoRA weight arithmetic for the soups and merges: deltas, averages, folding, peft merges.

A LoRA layer adds dW = s B A (s = alpha / r) to a frozen weight W. Averaging the factors
separately gives s (sum_m w_m B_m)(sum_m w_m A_m), which keeps the cross terms B_i A_j and is
NOT the average of the weight changes sum_m w_m s B_m A_m; both constructions live here.
"""
from __future__ import annotations

import copy
import warnings

import torch
from peft import LoraConfig
from peft.tuners.lora import LoraLayer, LoraModel
from torch import nn

from baselines.timing import clock, device_of

ADAPTER = "default"  # the adapter name the trainer's LoRA carries


def lora_layers(model: nn.Module) -> dict[str, LoraLayer]:
    """The modules of `model` that carry a LoRA adapter, by their full names."""
    return {n: m for n, m in model.named_modules() if isinstance(m, LoraLayer)}


def delta_weights(model: nn.Module, adapter: str = ADAPTER) -> dict[str, torch.Tensor]:
    """dW = s B A of every LoRA layer, in the layout of the base weight."""
    with torch.no_grad():
        return {n: m.get_delta_weight(adapter) for n, m in lora_layers(model).items()
                if adapter in m.lora_A}


def strip_lora(model: nn.Module) -> nn.Module:
    """Replace every LoRA layer by its base layer, in place (the adapters' effect is dropped)."""
    for name, layer in lora_layers(model).items():
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, layer.get_base_layer())
    for m in model.modules():
        m.__dict__.pop("peft_config", None)  # left on the LoRA root by peft
    return model


def average_parameters(models: list[nn.Module], weights) -> nn.Module:
    """theta = sum_m w_m theta_m over every parameter that differs between the models.

    Parameters shared by all models (the frozen base) are kept as they are rather than
    recomputed, so that rounding does not perturb them. LoRA factors are averaged one by one.
    """
    out = copy.deepcopy(models[0])
    params = [dict(m.named_parameters()) for m in models]
    with torch.no_grad():
        for name, p in out.named_parameters():
            vals = [ps[name] for ps in params]
            if any(not torch.equal(vals[0], v) for v in vals[1:]):
                p.copy_(sum(float(w) * v for w, v in zip(weights, vals)))
    return out


def fold_deltas(model: nn.Module, deltas: dict[str, torch.Tensor]) -> nn.Module:
    """Add deltas[name] to the base weight of each named LoRA layer, then strip the LoRA."""
    layers = lora_layers(model)
    with torch.no_grad():
        for name, d in deltas.items():
            layers[name].get_base_layer().weight += d
    return strip_lora(model)


def delta_soup(models: list[nn.Module], weights) -> nn.Module:
    """W + sum_m w_m s B_m A_m folded into the weights (other trained parameters averaged)."""
    per_model = [delta_weights(m) for m in models]
    total = {n: sum(float(w) * d[n] for w, d in zip(weights, per_model)) for n in per_model[0]}
    return fold_deltas(average_parameters(models, weights), total)


def _root(model: nn.Module) -> tuple[nn.Module, str]:
    # the trainer puts LoRA on the backbone's transformer (see trainer.state._lora_root)
    return (model.transformer, "transformer.") if hasattr(model, "transformer") else (model, "")


def peft_merge(base: nn.Module, models: list[nn.Module], weights, combination_type: str, *,
               density: float | None = None, svd_rank: int | None = None, scale: float = 1.0,
               majority_sign_method: str = "total", seed: int = 0) -> tuple[nn.Module, float]:
    """Load each model's LoRA into a copy of `base` as a named adapter, merge them with peft's
    add_weighted_adapter, multiply the merged change by `scale` and fold it into the weights.

    Returns the merged model and the seconds the merge and the fold took (the work a slider
    change costs once the adapters are loaded). dare_* prunes at random: seeded by `seed`.
    """
    sources = [lora_layers(m) for m in models]
    if not sources[0]:
        raise ValueError("merging needs LoRA runs; these models carry no adapter")
    first = next(iter(sources[0].values()))
    model = copy.deepcopy(base)
    root, prefix = _root(model)
    names = [f"unit{i}" for i in range(len(models))]
    cfg = LoraConfig(r=first.r[ADAPTER], lora_alpha=first.lora_alpha[ADAPTER], lora_dropout=0.0,
                     target_modules=[n.removeprefix(prefix) for n in sources[0]])
    tuner = LoraModel(root, {n: cfg for n in names}, names[0])
    for n in names[1:]:
        tuner.inject_adapter(root, n)
    with torch.no_grad():
        for name, layer in lora_layers(root).items():
            for adapter, src in zip(names, sources):
                layer.lora_A[adapter].weight.copy_(src[prefix + name].lora_A[ADAPTER].weight)
                layer.lora_B[adapter].weight.copy_(src[prefix + name].lora_B[ADAPTER].weight)
    device = device_of(model)
    start = clock(device)
    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        warnings.simplefilter("ignore")  # peft warns that density 1 prunes nothing
        torch.manual_seed(seed)
        tuner.add_weighted_adapter(names, [float(w) for w in weights], "merged", combination_type,
                                   svd_rank=svd_rank, density=density,
                                   majority_sign_method=majority_sign_method)
    with torch.no_grad():
        for layer in lora_layers(root).values():
            layer.lora_B["merged"].weight.mul_(scale)
    tuner.merge_and_unload(adapter_names=["merged"])
    seconds = clock(device) - start
    strip_lora(model)  # a no-op unless peft left a wrapper; also drops peft_config
    return model.eval().requires_grad_(False), seconds
