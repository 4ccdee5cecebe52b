"""The explicit steps of one epoch: sample -> score -> advantages (update is in update.py).

Batch layout: prompt p, preference slot k, image g sit at row (p K + k) G + g; the group
label of that row is p K + k, one group per (prompt, w).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from paretoslider.advantages import (
    early_scalarized_advantages,
    group_normalize,
    single_loss_advantages,
)
from paretoslider.backbones.base import Cond, repeat_cond
from paretoslider.samplers import Trajectory, sample_ode, sample_sde
from paretoslider.trainer.cost import Cost

RewardFn = Callable[[torch.Tensor, list[str]], torch.Tensor]


@dataclass
class Rollout:
    prompts: list[str]  # (B,)
    cond: Cond  # (B, ...)
    w: torch.Tensor  # (B, M) preference of each row (also when the policy does not see it)
    groups: torch.Tensor  # (B,) long
    noise: torch.Tensor  # (B, ...) x at t = 1
    x0: torch.Tensor  # (B, ...) clean samples
    traj: Trajectory | None = None  # SDE rollout (grpo only)

    @property
    def size(self) -> int:
        return self.x0.shape[0]


def to_unit_images(x0: torch.Tensor) -> torch.Tensor:
    """Model space [-1, 1] -> image space [0, 1], the default decode for image backbones."""
    return (x0.clamp(-1, 1) + 1) / 2


def _cat_traj(parts: list[Trajectory]) -> Trajectory:
    return Trajectory(
        torch.cat([p.states for p in parts], dim=1),
        torch.cat([p.log_probs for p in parts], dim=1),
        parts[0].times,
    )


@torch.no_grad()
def sample(
    policy,
    prompts: Sequence[str],
    ws: torch.Tensor,
    G: int,
    steps: int,
    generator: torch.Generator,
    *,
    shift: float = 1.0,
    grid: str = "uniform",
    solver: str = "euler",
    w_conditioned: bool = True,
    sde: bool = False,
    noise_level: float = 0.7,
    chunk: int | None = None,
    cost: Cost | None = None,
) -> Rollout:
    """Generate G samples for each (prompt, w) pair; ws is (P, K, M) for the P prompts.

    Noise comes from `generator` (seeded noise, so a batch is reproducible). The ODE
    sampler (`solver` on the time `grid`) is used unless `sde` (Flow-GRPO needs the
    stochastic rollout and its log-probs).
    With w_conditioned=False the policy is called with w=None.
    """
    prompts = list(prompts)
    n_p, k, m = ws.shape
    if n_p != len(prompts):
        raise ValueError(f"ws has {n_p} rows of preferences for {len(prompts)} prompts")
    b = n_p * k * G
    w = ws.reshape(n_p * k, m).repeat_interleave(G, dim=0)
    groups = torch.arange(n_p * k).repeat_interleave(G)
    rows = [p for p in prompts for _ in range(k * G)]
    cond = repeat_cond(policy.encode_prompts(prompts), k * G)
    noise = torch.randn((b, *policy.image_shape), generator=generator)
    chunk = chunk or b
    xs, trajs = [], []
    for s in range(0, b, chunk):
        sl = slice(s, s + chunk)
        c = {key: v[sl] for key, v in cond.items()}
        w_in = w[sl] if w_conditioned else None
        if sde:
            tr = sample_sde(policy, noise[sl], c, w_in, steps, noise_level, shift, generator, grid)
            trajs.append(tr)
            xs.append(tr.states[-1])
        else:
            xs.append(sample_ode(policy, noise[sl], c, w_in, steps, shift, grid, solver))
    if cost is not None:
        cost.forward_passes += b * steps
        cost.images += b
    return Rollout(rows, cond, w, groups, noise, torch.cat(xs), _cat_traj(trajs) if sde else None)


@torch.no_grad()
def score(
    x0: torch.Tensor,
    prompts: Sequence[str],
    rewards: Sequence[RewardFn],
    decode: Callable[[torch.Tensor], torch.Tensor] = to_unit_images,
    batch: int | None = None,
) -> torch.Tensor:
    """Rewards (B, M): column m is rewards[m](decode(x0), prompts); decoded and scored
    `batch` images at a time when given (the same scores, bounded memory)."""
    if batch is not None and batch < x0.shape[0]:
        prompts = list(prompts)
        return torch.cat([score(x0[i:i + batch], prompts[i:i + batch], rewards, decode)
                          for i in range(0, x0.shape[0], batch)])
    images = decode(x0)
    cols = []
    for r in rewards:
        v = torch.as_tensor(r(images, list(prompts)), dtype=torch.float32).detach()
        if v.shape != (x0.shape[0],):
            name = getattr(r, "name", repr(r))
            want = (x0.shape[0],)
            raise ValueError(f"reward {name} returned shape {tuple(v.shape)}, expected {want}")
        if not torch.isfinite(v).all():  # stop here: one NaN would poison every advantage
            raise FloatingPointError(f"reward {getattr(r, 'name', repr(r))} returned NaN or "
                                     "infinite values")
        cols.append(v)
    return torch.stack(cols, dim=1)


@dataclass
class AdvantageBatch:
    adv: torch.Tensor  # (B, M) per objective (late) or (B, 1) already scalarised
    weights: torch.Tensor  # the loss weights over adv's columns: w, or ones
    zero_std_frac: float

    def scalar(self) -> torch.Tensor:
        """One advantage per sample: sum_j weights_j adv_j (what a policy gradient uses)."""
        return (self.adv * self.weights).sum(dim=1)


def advantages(
    rewards: torch.Tensor,
    w: torch.Tensor,
    groups: torch.Tensor,
    loss: str = "nft",
    scalarisation: str = "late",
) -> AdvantageBatch:
    """Group-normalised advantages in the form the chosen loss consumes."""
    ones = torch.ones(rewards.shape[0], 1)
    if scalarisation == "early":
        adv, frac = early_scalarized_advantages(rewards, w, groups)
        return AdvantageBatch(adv[:, None], ones, frac)
    if scalarisation != "late":
        raise ValueError(f"unknown scalarisation {scalarisation!r}; known: early, late")
    adv, frac = group_normalize(rewards, groups)
    if loss == "nft_single":
        return AdvantageBatch(single_loss_advantages(adv, w)[:, None], ones, frac)
    return AdvantageBatch(adv, w, frac)
