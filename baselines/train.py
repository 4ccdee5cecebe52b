"""Train every run of one method with one call, and read its policies and its cost.

For scripts and notebooks; the harness (bench) does the same in worker processes. Runs are
trained in turn; `memo` (a dict kept by the caller) shares finished runs between methods in
one process, `cache_dir` keeps checkpoints so an interrupted or repeated call resumes.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import torch

from baselines.common import BudgetError
from paretoslider.methods import METHODS, Method, Policy, SuiteContext
from paretoslider.samplers import sample_ode
from paretoslider.trainer import Cost, to_unit_images, train


@dataclass
class MethodRun:
    method: Method
    ctx: SuiteContext
    models: dict  # unit label -> trained model
    costs: dict[str, Cost]  # unit label -> what its training cost
    base: torch.nn.Module

    def policy(self, w) -> Policy:
        return self.method.policy(self.ctx, self.models, self.base, tuple(float(x) for x in w))

    def cost(self) -> Cost:
        """The method's cost: the sum over its runs (a shared run counts for each user)."""
        total = Cost()
        for c in self.costs.values():
            for f in fields(Cost):
                setattr(total, f.name, getattr(total, f.name) + getattr(c, f.name))
        return total


def train_method(
    name: str,
    ctx: SuiteContext,
    prompts: Sequence[str],
    base_model_factory: Callable[[], torch.nn.Module],
    rewards_factory: Callable[[str], Callable],
    cache_dir: str | Path | None = None,
    memo: dict | None = None,
    progress: bool = False,
) -> MethodRun:
    """Train the units of method `name` (already trained ones are reused) and return them.

    base_model_factory() must return a fresh copy of the base model each call (the trainer
    post-trains it in place); rewards_factory(objective name) returns that reward.
    """
    method = METHODS.get(name)()
    if ctx.n_prompts is None:
        ctx = replace(ctx, n_prompts=len(prompts))
    memo = {} if memo is None else memo
    models, costs = {}, {}
    for unit in method.units(ctx):
        key = unit.key()
        if key not in memo:
            rewards = [rewards_factory(n) for n in unit.objectives]
            cfg = replace(unit.cfg, progress=progress)
            ckpt_dir = None if cache_dir is None else Path(cache_dir) / key / "ckpt"
            trainer = train(base_model_factory(), rewards, list(prompts), cfg,
                            checkpoint_dir=ckpt_dir)
            if trainer.cost.passes == 0:
                raise BudgetError(f"{name}: run {unit.label!r} could not afford one epoch "
                                  f"({trainer.epoch_passes()} passes > {cfg.budget_passes})")
            memo[key] = (trainer.policy.eval().requires_grad_(False), trainer.cost)
        models[unit.label], costs[unit.label] = memo[key]
    return MethodRun(method, ctx, models, costs, base_model_factory())


@torch.no_grad()
def mean_rewards(policy: Policy, prompts: Sequence[str], rewards: Sequence[Callable],
                 samples_per_prompt: int = 8, steps: int = 10, seed: int = 0) -> list[float]:
    """Mean of each reward over samples of the policy from fixed noise, scored against the
    original prompts (a rewrite changes what the model is asked, not what is judged)."""
    model = policy.model
    rows = [p for p in prompts for _ in range(samples_per_prompt)]
    cond = model.encode_prompts([policy.rewrite(p) for p in rows])
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn((len(rows), *model.image_shape), generator=gen)
    w = None if policy.w is None else policy.w.view(1, -1).expand(len(rows), -1)
    images = to_unit_images(sample_ode(model, noise, cond, w, steps))
    return [float(torch.as_tensor(r(images, rows)).float().mean()) for r in rewards]
