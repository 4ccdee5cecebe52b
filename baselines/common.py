"""Pieces the baselines share: budget checks, nearest-point lookup, single-reward units."""
from __future__ import annotations

from dataclasses import replace

import torch

from paretoslider.methods import Method, SuiteContext, Unit
from paretoslider.trainer.update import epoch_passes


class BudgetError(ValueError):
    """A method's budget cannot pay for one training epoch of each of its runs."""


def w_label(w) -> str:
    """'0.75-0.25' for (0.75, 0.25): readable and file-name safe."""
    return "-".join(f"{float(x):g}" for x in w)


def check_budget(method: str, ctx: SuiteContext, units: list[Unit]) -> list[Unit]:
    """Raise BudgetError if a unit's budget is below one epoch (needs ctx.n_prompts)."""
    if ctx.n_prompts is None:
        return units
    for u in units:
        budget = u.cfg.budget_passes
        if budget is None:
            continue
        per_epoch = u.cfg.prompts_per_epoch or ctx.n_prompts
        need = epoch_passes(u.cfg, min(per_epoch, ctx.n_prompts))
        if budget < need:
            raise BudgetError(
                f"{method}: run {u.label!r} gets {budget} passes ({ctx.budget_regime} over "
                f"{len(units)} runs) but one epoch needs {need}; raise budget.passes "
                f"or shrink the epoch (K, G, sampling_steps)"
            )
    return units


def nearest(points: list[tuple[float, ...]], w) -> int:
    """Index of the point closest to w (Euclidean); ties go to the earliest point."""
    pts = torch.tensor(points, dtype=torch.float64)
    d = (pts - torch.as_tensor(w, dtype=torch.float64)).norm(dim=1)
    return int(torch.nonzero(d <= d.min() + 1e-12)[0])


def fixed_w_unit(ctx: SuiteContext, label: str, w, budget: int | None, options: dict) -> Unit:
    """One run that trains the model without a w input at the fixed preference w (per-objective
    NFT, late scalarisation): the unit of fixed weights, the soups' runs and the oracle."""
    cfg = replace(ctx.base_cfg, w_conditioned=False, w_sampler="fixed",
                  w_fixed=tuple(float(x) for x in w), scalarisation="late",
                  budget_passes=budget, **options)
    return Unit(label, cfg, ctx.objectives)


def single_reward_units(ctx: SuiteContext, method: str) -> list[Unit]:
    """One fixed-weight run per reward (one-hot w), shared by the soups and every merge.

    Settings come from ctx.options["rewarded_soups"] whichever method asks, so the configs,
    and therefore the unit keys, are identical and the runs are trained once; a method may
    set its own on top (ctx.options[method]["runs"], e.g. the lambda_ref its frontier
    picked), and its runs are then shared only with methods of the same settings.
    """
    m = len(ctx.objectives)
    budget = Method.split_budget(ctx, m)
    own = (ctx.options.get(method) or {}).get("runs", {}) if method != "rewarded_soups" else {}
    options = {**ctx.options.get("rewarded_soups", {}), **own}
    units = [fixed_w_unit(ctx, f"single_{name}", [1.0 if j == i else 0.0 for j in range(m)],
                          budget, options)
             for i, name in enumerate(ctx.objectives)]
    return check_budget(method, ctx, units)
