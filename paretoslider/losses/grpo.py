"""Flow-GRPO: PPO-clipped policy gradient over the SDE sampler's Gaussian steps.

For one sampling step of a stored rollout, the new policy's log-prob of the stored next
state comes from `paretoslider.samplers.sde_step(..., sample=stored_next_state)`; the old
log-prob is the one recorded while sampling.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

CLIP_RANGE = 1e-4
KL_BETA = 0.04


@dataclass
class GRPOTerms:
    loss: torch.Tensor
    policy: torch.Tensor
    kl: torch.Tensor
    clip_frac: torch.Tensor


def ppo_clipped(
    logp_new: torch.Tensor, logp_old: torch.Tensor, adv: torch.Tensor, clip_range: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """mean_i max(-A r, -A clip(r, 1 - c, 1 + c)), r = exp(logp_new - logp_old); clip fraction."""
    ratio = torch.exp(logp_new - logp_old.detach())
    unclipped = -adv * ratio
    clipped = -adv * ratio.clamp(1 - clip_range, 1 + clip_range)
    frac = ((ratio - 1).abs() > clip_range).float().mean()
    return torch.maximum(unclipped, clipped).mean(), frac


def step_kl(mean_new: torch.Tensor, mean_ref: torch.Tensor, std) -> torch.Tensor:
    """KL between two Gaussian steps sharing std, per dimension: mean (mu - mu_ref)^2 / 2 std^2."""
    std = torch.as_tensor(std, dtype=mean_new.dtype)
    if float(std) == 0.0:  # a deterministic step carries no KL term
        return torch.zeros((), dtype=mean_new.dtype)
    sq = ((mean_new - mean_ref.detach()) ** 2).flatten(1).mean(dim=1)
    return (sq / (2 * std**2)).mean()


def grpo_loss(
    logp_new: torch.Tensor,
    logp_old: torch.Tensor,
    adv: torch.Tensor,
    mean_new: torch.Tensor | None = None,
    mean_ref: torch.Tensor | None = None,
    std=None,
    clip_range: float = CLIP_RANGE,
    beta: float = KL_BETA,
) -> GRPOTerms:
    """PPO-clipped loss for one step (all inputs per sample) + beta * KL to the reference."""
    policy, frac = ppo_clipped(logp_new, logp_old, adv, clip_range)
    if beta > 0 and mean_new is not None and mean_ref is not None and std is not None:
        kl = step_kl(mean_new, mean_ref, std)
    else:
        kl = torch.zeros((), dtype=logp_new.dtype)
    return GRPOTerms(policy + beta * kl, policy, kl, frac)
