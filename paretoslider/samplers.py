"""Samplers as pure functions over a velocity model `model(x_t, t, cond, w) -> v`.

Convention (rectified flow, as SD3): x_t = (1 - t) x0 + t eps, v = eps - x0, sampling runs
from t = 1 (noise) to t = 0 (data).

Time grids: `uniform` warps linspace(1, 0, steps + 1) by the shift; `scheduler` is the grid of
diffusers' FlowMatchEulerDiscreteScheduler, SD3's own (its last step before 0 sits near
t = 0.009 at shift 3 and 25 steps, against 0.11 on the uniform grid). Solvers: Euler, or
the second-order multistep DPM-Solver++ (`dpm2`) in data prediction.
A model may carry its own defaults as a `sampler_settings` attribute; a sampler
call that does not name shift, grid or solver uses them (evaluation of SD3.5, say).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import torch

VelocityFn = Callable[..., torch.Tensor]
GRIDS = ("uniform", "scheduler")
SOLVERS = ("euler", "dpm2")


@dataclass(frozen=True)
class SamplerSettings:
    """How a model is sampled when the caller does not say: time shift, grid and solver."""

    shift: float = 1.0
    grid: str = "uniform"
    solver: str = "euler"

    def __post_init__(self):
        check_sampler(self.shift, self.grid, self.solver)


def check_sampler(shift: float, grid: str, solver: str) -> None:
    if isinstance(shift, bool) or not isinstance(shift, int | float) or not shift > 0:
        raise ValueError(f"shift must be a number > 0, got {shift!r}")
    if grid not in GRIDS:
        raise ValueError(f"unknown time grid {grid!r}; known: {', '.join(GRIDS)}")
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; known: {', '.join(SOLVERS)}")


def model_sampler(model) -> SamplerSettings:
    """The sampler settings a model carries, or the plain ones (shift 1, uniform, Euler)."""
    return getattr(model, "sampler_settings", None) or SamplerSettings()


def timesteps(steps: int, shift: float = 1.0, grid: str = "uniform") -> torch.Tensor:
    """`steps + 1` times from 1 to 0 (see the module's note on grids); shift warps
    t' = s t / (1 + (s - 1) t)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    check_sampler(shift, grid, "euler")
    if grid == "scheduler":
        from diffusers import FlowMatchEulerDiscreteScheduler

        scheduler = FlowMatchEulerDiscreteScheduler(shift=float(shift))
        scheduler.set_timesteps(steps)
        return scheduler.sigmas.float().cpu()
    t = torch.linspace(1.0, 0.0, steps + 1)
    return shift * t / (1 + (shift - 1) * t)


def euler_step(x: torch.Tensor, v: torch.Tensor, t: float, t_next: float) -> torch.Tensor:
    """Deterministic ODE step dx/dt = v from t to t_next (< t)."""
    return x + (t_next - t) * v


def _log_snr(t: float) -> float:
    """lambda(t) = log((1 - t) / t) of the rectified flow (alpha = 1 - t, sigma = t)."""
    return -math.inf if t >= 1 else math.log((1 - t) / t)


def dpm2_step(
    x: torch.Tensor, v: torch.Tensor, t: float, t_next: float,
    x0_prev: torch.Tensor | None = None, t_prev: float | None = None,
) -> torch.Tensor:
    """One step of multistep DPM-Solver++(2M) (midpoint form) from t to t_next, given the
    velocity v at t and the data prediction x0_prev = x - t v of the previous step, made at
    t_prev (None: a first-order step).

    The first-order update equals the Euler step; a previous time at t = 1 (log-SNR -inf)
    gives the correction weight h / h0 = 0, so the second step is first order too. A step
    to t_next = 0 is taken first order, as diffusers' scheduler does with a zero final sigma.
    """
    euler = x + (t_next - t) * v
    if x0_prev is None or t_next <= 0:
        return euler
    h = _log_snr(t_next) - _log_snr(t)
    h0 = _log_snr(t) - _log_snr(t_prev)
    d1 = (h / h0) * (x - t * v - x0_prev)  # (m0 - m1) / r0 with r0 = h0 / h
    return euler - 0.5 * (1 - t_next) * math.expm1(-h) * d1


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
    shift: float | None = None,
    grid: str | None = None,
    solver: str | None = None,
) -> torch.Tensor:
    """Deterministic sampling from `noise` (x at t = 1) to x0; shift, grid and solver left
    at None come from the model's own `sampler_settings` (default: 1, uniform, Euler)."""
    own = model_sampler(model)
    shift = own.shift if shift is None else shift
    solver = own.solver if solver is None else solver
    check_sampler(shift, grid or own.grid, solver)
    ts = timesteps(steps, shift, grid or own.grid).tolist()
    x, x0_prev, t_prev = noise, None, None
    for t, t_next in pairwise(ts):
        tt = torch.full((x.shape[0],), t, dtype=x.dtype)
        v = model(x, tt, cond, w)
        if solver == "euler":
            x = euler_step(x, v, t, t_next)
        else:
            x, x0_prev, t_prev = dpm2_step(x, v, t, t_next, x0_prev, t_prev), x - t * v, t
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
    grid: str = "uniform",
) -> Trajectory:
    """Stochastic rollout with per-step log-probs, as Flow-GRPO samples for its policy gradient."""
    ts = timesteps(steps, shift, grid).tolist()
    x, states, lps = noise, [noise], []
    for t, t_next in pairwise(ts):
        tt = torch.full((x.shape[0],), t, dtype=x.dtype)
        eps = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        step = sde_step(x, model(x, tt, cond, w), t, t_next, noise_level, noise=eps)
        x = step.sample
        states.append(x)
        lps.append(step.log_prob)
    return Trajectory(torch.stack(states), torch.stack(lps), ts)
