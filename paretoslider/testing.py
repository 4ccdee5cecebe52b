"""Contract checks for everything registered: run them on a method, reward or world of your
own (`check_method`, `check_reward`, `check_world`); the project's tests run them on every
built-in one (`tests/paretoslider/test_contracts.py`). Each raises AssertionError naming what
broke the contract, and `ContractSkip` where the part needs what this machine lacks (weights
from a hub, a checkpoint file)."""
from __future__ import annotations

import math
from dataclasses import replace

import torch

from paretoslider.methods import METHODS, MixturePolicy, Policy, SuiteContext
from paretoslider.preferences import eval_grid
from paretoslider.rewards.base import REWARDS
from paretoslider.trainer.config import TrainConfig
from paretoslider.worlds import WORLDS, build_world
from paretoslider.worlds.base import World


class ContractSkip(Exception):
    """The check cannot run here (missing weights or files); the message says why."""


def render_samples(n: int = 8, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """World renders of every shape and style mix, with their prompts."""
    from paretoslider.worlds.shapes import sample_batch

    batch = sample_batch(n, seed)
    return batch.images, batch.prompts


def check_reward(name: str, images: torch.Tensor | None = None,
                 prompts: list[str] | None = None) -> None:
    """A reward declares a range lo < hi and the direction "max"; on renders it returns one
    finite value per image inside its declared range."""
    cls = REWARDS.get(name)
    reward = cls()
    lo, hi = reward.range
    assert lo < hi, f"{name}: range {reward.range} must have lo < hi"
    assert reward.direction == "max", f"{name}: direction must be 'max'"
    if getattr(reward, "external_weights", False):
        raise ContractSkip(f"{name} loads its weights from outside; declared fields checked")
    if images is None:
        images, prompts = render_samples()
    values = reward(images, prompts)
    assert values.shape == (len(images),), f"{name}: {tuple(values.shape)} for {len(images)} images"
    assert torch.isfinite(values).all(), f"{name}: non-finite scores"
    slack = 1e-4 * (hi - lo)
    assert ((values >= lo - slack) & (values <= hi + slack)).all(), (
        f"{name}: scores {float(values.min()):.4g}..{float(values.max()):.4g} leave the "
        f"declared range {reward.range}")


def check_world(name: str, **options) -> None:
    """A world has the interface (`worlds.base.World`), a stable fingerprint, rewards by name,
    and decodes to [0, 1] where it makes images."""
    from paretoslider.weights import MissingWeightsError

    try:
        _check_world(name, options)
    except (MissingWeightsError, FileNotFoundError) as exc:
        raise ContractSkip(f"world {name}: {str(exc)[:200]}") from None


def _check_world(name: str, options: dict) -> None:
    world = build_world(name, **options)
    assert isinstance(world, World), f"world {name} lacks part of the World interface"
    first, second = world.fingerprint(), world.fingerprint()
    assert first == second and isinstance(first, str) and first, f"{name}: unstable fingerprint"
    assert build_world(name, **options).fingerprint() == first, f"{name}: fingerprint differs"
    names = world.reward_names()
    assert names and all(isinstance(n, str) for n in names), f"{name}: no reward names"
    if world.images:
        out = world.decode(torch.linspace(-2, 2, 3 * 4 * 4).view(1, 3, 4, 4))
        assert float(out.min()) >= 0 and float(out.max()) <= 1, f"{name}: decode leaves [0, 1]"


def smoke_context(m: int = 2, budget: int = 2000, seed: int = 0, options=None) -> SuiteContext:
    """A small suite context: M objectives of the shapes world, micro trainer settings."""
    objectives = ("photo", "sketch", "watercolor", "neon")[:m]
    cfg = TrainConfig(K=2, G=2, sampling_steps=4, timesteps_per_sample=1, lora_rank=2,
                      lora_alpha=4, epochs=100, seed=seed, objectives=objectives)
    grid = [tuple(float(x) for x in w) for w in eval_grid(m, n=3 if m == 2 else 2)]
    fixed = [tuple(1.0 if j == i else 0.0 for j in range(m)) for i in range(m)]
    return SuiteContext(objectives, cfg, fixed, budget, "equal_total", dict(options or {}),
                        n_prompts=2, eval_grid=grid)


def check_method(name: str, ctx: SuiteContext | None = None) -> None:
    """A method's runs stay within its budget (equal total compute: their budgets sum to at
    most the method's), their labels are distinct, and it answers at every grid w with a
    Policy (or a mixture of them) given models for its runs, or for only the runs that
    `units_at` declares for that w."""
    from paretoslider.trainer import Trainer
    from paretoslider.worlds.pretrain import MICRO, build_model

    ctx = ctx or smoke_context()
    method = METHODS.get(name)()
    try:
        units = method.units(ctx)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise ContractSkip(f"method {name} needs settings of its own: {exc}") from None
    labels = [u.label for u in units]
    assert len(set(labels)) == len(labels), f"{name}: repeated run labels {labels}"
    budgets = [u.cfg.budget_passes for u in units]
    if ctx.budget_passes is not None and units and not method.budget_per_unit:
        assert all(b is not None for b in budgets), f"{name}: a run without a budget"
        assert sum(budgets) <= ctx.budget_passes, (
            f"{name}: runs get {sum(budgets)} passes, more than the method's {ctx.budget_passes}")
    base = build_model(MICRO).eval()
    trained = {}
    for u in units:  # untrained policies stand in for the trained ones
        cfg = replace(u.cfg, progress=False)
        trained[u.label] = Trainer(build_model(MICRO), [_constant] * len(u.objectives),
                                   ["a circle", "a square"], cfg).policy.eval()
    for w in ctx.eval_grid:
        needed = method.units_at(ctx, w)
        if needed is not None:  # the policy must answer from the units it declares alone
            unknown = set(needed) - set(trained)
            assert not unknown, f"{name}: units_at names runs it has not: {sorted(unknown)}"
        given = trained if needed is None else {k: trained[k] for k in needed}
        try:
            policy = method.policy(ctx, given, base, w)
        except KeyError as exc:
            raise AssertionError(f"{name}: the policy at w={w} reads run {exc}, which "
                                 f"units_at does not declare") from None
        assert isinstance(policy, (Policy, MixturePolicy)), (
            f"{name}: policy at w={w} is a {type(policy).__name__}")
        assert math.isfinite(policy.switch_seconds) and policy.switch_seconds >= 0


def _constant(images, prompts):
    return torch.zeros(len(images))


__all__ = [
    "WORLDS",
    "ContractSkip",
    "check_method",
    "check_reward",
    "check_world",
    "smoke_context",
]
