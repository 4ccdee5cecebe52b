"""Samplers as pure functions over a velocity model `model(x_t, t, cond, w) -> v`.

Convention (rectified flow, as SD3): x_t = (1 - t) x0 + t eps, v = eps - x0, sampling runs
from t = 1 (noise) to t = 0 (data).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import torch

VelocityFn = Callable[..., torch.Tensor]


def timesteps(steps: int, shift: float = 1.0) -> torch.Tensor:
    """`steps + 1` times from 1 to 0, warped by SD3's shift t' = s t / (1 + (s - 1) t)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    t = torch.linspace(1.0, 0.0, steps + 1)
    return shift * t / (1 + (shift - 1) * t)


def euler_step(x: torch.Tensor, v: torch.Tensor, t: float, t_next: float) -> torch.Tensor:
    """Deterministic ODE step dx/dt = v from t to t_next (< t)."""
    return x + (t_next - t) * v


def _per_sample_mean(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(dim=1)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor | float) -> torch.Tensor:
    """Log-density of x under N(mean, std^2), averaged over each sample's dimensions (B,)."""
    std = torch.as_tensor(std, dtype=x.dtype)
    lp = -((x - mean) ** 2) / (2 * std**2) - torch.log(std) - 0.5 * math.log(2 * math.pi)
    return _per_sample_mean(lp)


@dataclass
class SDEStep:
    sample: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    log_prob: torch.Tensor  # (B,)


def sde_step(
    x: torch.Tensor,
    v: torch.Tensor,
    t: float,
    t_next: float,
    noise_level: float,
    noise: torch.Tensor | None = None,
    sample: torch.Tensor | None = None,
) -> SDEStep:
    """Flow-GRPO's SDE step with the same marginals as the ODE.

    sigma_t = noise_level * sqrt(t / (1 - t)); the mean adds the score correction
    sigma_t^2 / (2t) (x + (1 - t) v) dt, the step noise has std sigma_t sqrt(|dt|).
    sqrt(t / (1 - t)) is infinite at t = 1: there the first step uses t_next in the
    denominator, as Flow-GRPO does (a cap like 1 - t = 1e-3 instead gives sigma^2 dt ~ 50
    on a 10-step grid, and the rollout leaves the data distribution at its first step).
    With noise_level = 0 this is exactly the Euler step. Pass `sample` to score a given
    next state (the log-prob of a stored rollout) instead of drawing one.
    """
    dt = t_next - t
    sigma = noise_level * math.sqrt(t / (1 - (t_next if t >= 1 else t)))
    if sigma == 0:
        mean = x + dt * v
        return SDEStep(mean if sample is None else sample, mean, torch.tensor(0.0), torch.zeros(x.shape[0]))
    mean = x + (v + sigma**2 / (2 * t) * (x + (1 - t) * v)) * dt
    std = torch.tensor(sigma * math.sqrt(-dt), dtype=x.dtype)
    if sample is None:
        if noise is None:
            noise = torch.randn_like(x)
        sample = mean + std * noise
    return SDEStep(sample, mean, std, gaussian_log_prob(sample.detach(), mean, std))


@torch.no_grad()
def sample_ode(
    model: VelocityFn,
    noise: torch.Tensor,
    cond,
    w: torch.Tensor | None = None,
    steps: int = 10,
    shift: float = 1.0,
) -> torch.Tensor:
    """Deterministic Euler sampling from `noise` (x at t = 1) to x0."""
    ts = timesteps(steps, shift).tolist()
    x = noise
    for t, t_next in pairwise(ts):
        tt = torch.full((x.shape[0],), t, dtype=x.dtype)
        x = euler_step(x, model(x, tt, cond, w), t, t_next)
    return x


@dataclass
class Trajectory:
    states: torch.Tensor  # (T + 1, B, ...) from noise to x0
    log_probs: torch.Tensor  # (T, B)
    times: list[float]  # T + 1 times


@torch.no_grad()
def sample_sde(
    model: VelocityFn,
    noise: torch.Tensor,
    cond,
    w: torch.Tensor | None = None,
    steps: int = 10,
    noise_level: float = 0.7,
    shift: float = 1.0,
    generator: torch.Generator | None = None,
) -> Trajectory:
    """Stochastic rollout with per-step log-probs, as Flow-GRPO samples for its policy gradient."""
    ts = timesteps(steps, shift).tolist()
    x, states, lps = noise, [noise], []
    for t, t_next in pairwise(ts):
        tt = torch.full((x.shape[0],), t, dtype=x.dtype)
        eps = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        step = sde_step(x, model(x, tt, cond, w), t, t_next, noise_level, noise=eps)
        x = step.sample
        states.append(x)
        lps.append(step.log_prob)
    return Trajectory(torch.stack(states), torch.stack(lps), ts)
