"""The method interface the harness drives, its registry, and ParetoSlider itself.

A method declares the training runs ("units") it needs and, given their trained models,
the policy it uses at a preference w. Units are identified by the hash of their training
config, so two methods asking for the same run (a one-hot fixed-weight run and a
single-reward soup ingredient, say) share it, and a finished unit is never trained twice.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from paretoslider.preferences import stable_seed
from paretoslider.registry import Registry
from paretoslider.trainer.config import TrainConfig

METHODS: Registry = Registry("method")


@dataclass
class Unit:
    """One training run: a trainer config on the suite's objectives."""

    label: str  # readable, e.g. "slider" or "fixed_w0.25"
    cfg: TrainConfig
    objectives: tuple[str, ...]  # reward names the run is trained on, in w's order
    # budget fractions at which weights are kept; epochs are cut to end exactly there
    snapshots: tuple[float, ...] = (1.0,)

    def key(self) -> str:
        from paretoslider.trainer.config import config_hash

        # the budget is left out of the trainer's hash (a resumed run may extend it) but a
        # unit's result depends on it: runs share a key only when their budgets agree too.
        # "budget_rule": runs end exactly at their budget (a last, partial epoch), which
        # runs cached under the older whole-epoch rule did not
        extra = {"objectives": list(self.objectives), "budget_passes": self.cfg.budget_passes,
                 "budget_rule": "exact"}
        if tuple(self.snapshots) != (1.0,):
            extra["snapshots"] = [float(f) for f in self.snapshots]
        return config_hash(self.cfg, extra)


@dataclass
class Policy:
    """What a method puts forward at one preference: a model, its w input, a prompt rewrite."""

    model: Any  # a FlowBackbone
    w: torch.Tensor | None = None  # (M,) fed to the model, or None
    rewrite: Callable[[str], str] = field(default=lambda p: p)
    switch_seconds: float = 0.0  # extra work paid to move to this w (building a merge, say)


@dataclass
class MixturePolicy:
    """Switching between policies: each sample comes from component m with probability
    probs[m]. Row r's draw depends only on (seed, probs, r), so it is reproducible and the
    same rows go to the same component whatever else is evaluated."""

    components: list[Policy]
    probs: tuple[float, ...]
    seed: int = 0
    switch_seconds: float = 0.0

    def __post_init__(self):
        p = torch.as_tensor(self.probs, dtype=torch.float64)
        if len(p) != len(self.components) or (p < -1e-9).any() or abs(float(p.sum()) - 1) > 1e-4:
            raise ValueError(f"mixture probabilities {self.probs} must be {len(self.components)} "
                             "non-negative numbers summing to 1")
        self.probs = tuple(float(x) for x in p.clamp(min=0) / p.clamp(min=0).sum())

    def assign(self, n_rows: int) -> torch.Tensor:
        """(n_rows,) index of the component that draws each row."""
        gen = torch.Generator().manual_seed(stable_seed(self.seed, "mixture", *self.probs))
        u = torch.rand(n_rows, generator=gen, dtype=torch.float64)
        edges = torch.tensor(self.probs, dtype=torch.float64).cumsum(0)[:-1]
        return torch.bucketize(u, edges, right=True)


@dataclass
class SuiteContext:
    """What a method may read of the suite when planning its runs."""

    objectives: tuple[str, ...]
    base_cfg: TrainConfig  # the suite's trainer settings; the method changes what it must
    fixed_grid: list[tuple[float, ...]]  # training points of the fixed-weight baseline
    budget_passes: int | None  # per method and seed (equal total) or per unit (per model)
    budget_regime: str = "equal_total"  # or "per_model"
    options: dict = field(default_factory=dict)  # method-specific settings from the suite
    n_prompts: int | None = None  # training prompts, when known: lets units() check the budget
    eval_grid: list[tuple[float, ...]] | None = None  # the preferences evaluated, when known


class Method:
    name: str = "method"
    w_dependent: bool = True  # False: one static model for every w (Spearman is n/a)
    # the trainer settings that trade reward for staying near the base model (its strength
    # knobs, e.g. lambda_ref): recorded with every cell, so a frontier over them is rebuilt
    # from the records alone
    knobs: tuple[str, ...] = ()
    # True for a yardstick whose every run gets the whole budget (the oracle), not a method
    # competing at equal total compute
    budget_per_unit: bool = False

    def units(self, ctx: SuiteContext) -> list[Unit]:
        raise NotImplementedError

    def policy(self, ctx: SuiteContext, trained: dict[str, Any], base: Any, w) -> Policy:
        """`trained` maps unit labels to trained models; `base` is the untouched base model."""
        raise NotImplementedError

    def units_at(self, ctx: SuiteContext, w) -> tuple[str, ...] | None:
        """The labels of the trained units the policy at `w` reads, or None where it may read
        any: an evaluation then holds only these, one model at a time for a fixed-weight set."""
        return None

    def strength(self, ctx: SuiteContext) -> dict[str, float]:
        """The values of the method's knobs in this suite (its units share them)."""
        units = self.units(ctx) if self.knobs else []
        return {k: float(getattr(units[0].cfg, k)) for k in self.knobs} if units else {}

    def options_for(self, strength: dict[str, float]) -> dict:
        """The method_options entry that runs the method at `strength` (its knob values)."""
        return dict(strength)

    @staticmethod
    def split_budget(ctx: SuiteContext, n_units: int) -> int | None:
        """Equal total compute: N runs share the budget; per-model: each run gets all of it."""
        if ctx.budget_passes is None or n_units == 0:
            return ctx.budget_passes
        if ctx.budget_regime == "per_model":
            return ctx.budget_passes
        return ctx.budget_passes // n_units


@METHODS.register("paretoslider")
class ParetoSlider(Method):
    """One model conditioned on w, trained with per-objective NFT and late scalarisation."""

    name = "paretoslider"
    knobs = ("lambda_ref",)

    def units(self, ctx: SuiteContext) -> list[Unit]:
        cfg = replace(ctx.base_cfg, w_conditioned=True, w_sampler="structured", w_fixed=None,
                      scalarisation="late", budget_passes=self.split_budget(ctx, 1),
                      **ctx.options.get("paretoslider", {}))
        return [Unit("slider", cfg, ctx.objectives)]

    def policy(self, ctx, trained, base, w) -> Policy:
        return Policy(trained["slider"], torch.as_tensor(w, dtype=torch.float32))
