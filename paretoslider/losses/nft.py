"""DiffusionNFT, one loss per objective, weighted by w (late scalarisation), after METHOD.md.

Rectified flow: x_t = (1 - t) x0 + t eps, v = eps - x0, x0_hat(v) = x_t - t v.
The implicit positive policy v+ = b v_theta + (1 - b) v_old should reconstruct x0 on
samples with high advantage, the implicit negative v- = (1 + b) v_old - b v_theta on
samples with low advantage; q in [0, 1] mixes the two per sample and objective.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

BETA = 0.1
ADV_CLIP = 5.0
WEIGHT_FLOOR = 1e-5


def _bcast(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """t (B,) or scalar -> broadcastable against like (B, ...)."""
    t = torch.as_tensor(t, dtype=like.dtype)
    return t.reshape(-1, *([1] * (like.dim() - 1))) if t.dim() else t


def x0_from_v(x_t: torch.Tensor, t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return x_t - _bcast(t, x_t) * v


def _per_sample_mean(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(dim=1)


def adaptive_l2(x0_hat: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """mean((x0_hat - x0)^2) / a per sample, a = detached mean |x0_hat - x0| floored at 1e-5."""
    err = x0_hat - x0
    a = _per_sample_mean(err.abs()).detach().clamp(min=WEIGHT_FLOOR)
    return _per_sample_mean(err**2) / a


def advantage_to_q(adv: torch.Tensor, adv_clip: float = ADV_CLIP) -> torch.Tensor:
    """q = 0.5 + 0.5 clip(A / 5, -1, 1): 1 = fully positive, 0 = fully negative."""
    return 0.5 + 0.5 * (adv / adv_clip).clamp(-1.0, 1.0)


@dataclass
class NFTTerms:
    loss: torch.Tensor  # scalar policy loss
    per_objective: torch.Tensor  # (B, M) L_m, before the w weighting
    l_plus: torch.Tensor  # (B,)
    l_minus: torch.Tensor  # (B,)


def nft_loss(
    v_theta: torch.Tensor,
    v_old: torch.Tensor,
    x_t: torch.Tensor,
    x0: torch.Tensor,
    t: torch.Tensor,
    adv: torch.Tensor,
    w: torch.Tensor,
    beta: float = BETA,
    adv_clip: float = ADV_CLIP,
) -> NFTTerms:
    """Policy loss 5 * mean_i sum_m w_im L_im with L_m = (q_m L+ + (1 - q_m) L-) / b.

    adv, w: (B, M). For the single-loss and early-scalarised variants pass adv (B, 1) and
    w = ones (B, 1). v_old is treated as a constant.
    """
    v_old = v_old.detach()
    v_plus = beta * v_theta + (1 - beta) * v_old
    v_minus = (1 + beta) * v_old - beta * v_theta
    l_plus = adaptive_l2(x0_from_v(x_t, t, v_plus), x0)
    l_minus = adaptive_l2(x0_from_v(x_t, t, v_minus), x0)
    q = advantage_to_q(adv, adv_clip)
    per_obj = (q * l_plus[:, None] + (1 - q) * l_minus[:, None]) / beta
    loss = adv_clip * (w * per_obj).sum(dim=1).mean()
    return NFTTerms(loss, per_obj, l_plus, l_minus)


def reference_regularizer(v_theta: torch.Tensor, v_ref: torch.Tensor, lam: float = 1e-4):
    """lambda * mean((v_theta - v_ref)^2): keeps the policy near the frozen start model."""
    return lam * ((v_theta - v_ref.detach()) ** 2).mean()


def ema_decay(step: int) -> float:
    """Weight kept on the OLD parameters after `step` optimizer updates: min(0.001 step, 0.5)."""
    return min(0.001 * step, 0.5)


@torch.no_grad()
def ema_update(old: nn.Module, new: nn.Module, step: int, names: list[str] | None = None) -> float:
    """old <- decay * old + (1 - decay) * new over the named parameters (default: all).

    Convention: decay is the weight on the old policy, so decay 0 copies the policy.
    """
    decay = ema_decay(step)
    keep = None if names is None else set(names)
    new_params = dict(new.named_parameters())
    for name, p_old in old.named_parameters():
        if keep is not None and name not in keep:
            continue
        p_old.mul_(decay).add_(new_params[name].detach(), alpha=1 - decay)
    return decay
