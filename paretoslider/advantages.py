"""Group-normalised advantages, per objective (late scalarisation) and the scalarised variants.

A group is the set of samples sharing a prompt and a preference slot (G images). The std is
the population std (ddof = 0) of the group, as in Flow-GRPO / DiffusionNFT.
"""
from __future__ import annotations

import torch

EPS = 1e-4
CLIP = 5.0


def _group_stats(values: torch.Tensor, groups: torch.Tensor):
    """Per-sample group mean and population std of values (B, M) for integer labels (B,)."""
    _, inverse = torch.unique(groups, return_inverse=True)
    n_groups = int(inverse.max()) + 1 if inverse.numel() else 0
    idx = inverse.unsqueeze(1).expand_as(values)
    count = torch.zeros(n_groups, 1, dtype=values.dtype).index_add_(
        0, inverse, torch.ones(len(inverse), 1, dtype=values.dtype)
    )
    total = torch.zeros(n_groups, values.shape[1], dtype=values.dtype)
    total.index_add_(0, inverse, values)
    mean = total / count
    centred = values - mean.gather(0, idx)
    var = torch.zeros_like(mean).index_add_(0, inverse, centred**2) / count
    return centred, var.sqrt(), mean, inverse


def group_normalize(
    rewards: torch.Tensor, groups: torch.Tensor, eps: float = EPS, clip: float = CLIP
) -> tuple[torch.Tensor, float]:
    """Per group and per objective z-score (r - mean) / (std + eps), clipped to +-clip.

    rewards: (B, M) or (B,); groups: (B,) integer labels. Returns the advantages (same shape
    as rewards) and the fraction of (group, objective) pairs whose rewards were all equal
    (std ~ 0: those samples carry no learning signal).
    """
    flat = rewards.dim() == 1
    r = rewards.double().reshape(rewards.shape[0], -1)
    if groups.shape != (r.shape[0],):
        raise ValueError(f"groups must be ({r.shape[0]},), got {tuple(groups.shape)}")
    centred, std, mean, inverse = _group_stats(r, groups)
    adv = (centred / (std.gather(0, inverse.unsqueeze(1).expand_as(r)) + eps)).clamp(-clip, clip)
    # relative tolerance: float rounding leaves ~1e-8 * |mean| in the std of equal values
    zero = std <= 1e-6 * mean.abs().clamp(min=1.0)
    frac = zero.double().mean().item() if zero.numel() else 0.0
    adv = adv.to(rewards.dtype)
    return (adv.reshape(-1) if flat else adv), frac


def batch_normalize(values: torch.Tensor, eps: float = EPS, clip: float = CLIP) -> torch.Tensor:
    """z-score over the whole batch (one group), clipped; values (B,)."""
    groups = torch.zeros(values.shape[0], dtype=torch.long)
    return group_normalize(values, groups, eps, clip)[0]


def single_loss_advantages(adv: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """GDPO-style single advantage: sum_m w_m A_m, renormalised over the batch. (B,)."""
    return batch_normalize((adv * w).sum(dim=1))


def early_scalarized_advantages(
    rewards: torch.Tensor, w: torch.Tensor, groups: torch.Tensor
) -> tuple[torch.Tensor, float]:
    """Weighted sum of RAW rewards first, then group-normalised: (B,), zero-std fraction.

    The scalarisation the baselines use; it is not invariant to a reward's scale.
    """
    return group_normalize((rewards * w).sum(dim=1), groups)
