"""The update step: gradients accumulated over samples and timesteps, then optimizer steps.

Each sample is trained at the sampler's own timesteps (the first 99% of its grid, or with
timestep_selection "random" that many of the whole grid), in a shuffled order of its own,
each visit with fresh noise. The batch is split into `steps_per_epoch` chunks, one optimizer
step each; `minibatch` bounds a forward's size. With mixed_precision the NFT loss is taken in
float64 (the model's outputs are cast up first).
"""
from __future__ import annotations

import torch

from paretoslider.backbones.base import index_cond
from paretoslider.losses.grpo import grpo_loss
from paretoslider.losses.nft import ema_update, nft_loss, reference_regularizer
from paretoslider.samplers import sde_step, timesteps
from paretoslider.trainer.config import TrainConfig
from paretoslider.trainer.cost import Cost
from paretoslider.trainer.state import TrainState, update_eval_ema
from paretoslider.trainer.steps import AdvantageBatch, Rollout


def _bshape(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1, *([1] * (like.dim() - 1)))


def nft_minibatch_loss(state, x0, cond, w_in, adv, weights, t, eps, cfg: TrainConfig):
    """NFT loss + reference regulariser on one minibatch at given t (B,) and noise eps."""
    x_t = (1 - _bshape(t, x0)) * x0 + _bshape(t, x0) * eps
    v = state.policy(x_t, t, cond, w_in)
    with torch.no_grad():
        v_old = state.old(x_t, t, cond, w_in)
    wide = (lambda x: x.double()) if cfg.mixed_precision else (lambda x: x)
    loss = nft_loss(wide(v), wide(v_old), wide(x_t), wide(x0), t, adv, weights, cfg.nft_beta).loss
    if cfg.lambda_ref > 0:
        with torch.no_grad():
            v_ref = state.reference(x_t, t, cond, None)
        loss = loss + reference_regularizer(wide(v), wide(v_ref), cfg.lambda_ref)
    return loss


def optimizer_step(state: TrainState, cfg: TrainConfig, cost: Cost | None) -> None:
    params = state.trainable_parameters()
    if cfg.grad_clip and cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
    state.optimizer.step()
    state.step += 1
    ema_update(state.old, state.policy, state.step, state.trainable)
    if state.eval_ema is not None:
        update_eval_ema(state)
    if cost is not None:
        cost.optimizer_steps += 1


def _chunks(b: int, cfg: TrainConfig, generator: torch.Generator) -> list[torch.Tensor]:
    return list(torch.randperm(b, generator=generator).chunk(cfg.steps_per_epoch))


def draw_timesteps(cfg: TrainConfig, b: int, generator: torch.Generator) -> torch.Tensor:
    """(b, n_used) trained times: each row a shuffled draw without replacement from the
    first cfg.timestep_pool() times of the rollout's grid."""
    grid = timesteps(cfg.sampling_steps, cfg.shift, cfg.time_grid)[:cfg.timestep_pool()]
    perm = torch.stack([torch.randperm(len(grid), generator=generator) for _ in range(b)])
    return grid[perm[:, :cfg.timesteps_used()]]


def update_nft(state, rollout: Rollout, adv: AdvantageBatch, cfg, generator, cost=None) -> dict:
    n_used, b = cfg.timesteps_used(), rollout.size
    times = draw_timesteps(cfg, b, generator)
    passes_fwd = 3 if cfg.lambda_ref > 0 else 2  # policy, old, reference
    losses = []
    for chunk in _chunks(b, cfg, generator):
        state.optimizer.zero_grad(set_to_none=True)
        n_terms = len(chunk) * n_used
        for mb in chunk.split(cfg.minibatch):
            x0, cond = rollout.x0[mb], index_cond(rollout.cond, mb)
            w_in = rollout.w[mb] if cfg.w_conditioned else None
            for j in range(n_used):
                t = times[mb, j]
                eps = torch.randn(x0.shape, generator=generator)
                loss = nft_minibatch_loss(
                    state, x0, cond, w_in, adv.adv[mb], adv.weights[mb], t, eps, cfg
                )
                (loss * len(mb) / n_terms).backward()
                losses.append(loss.item())
                if cost is not None:
                    cost.forward_passes += passes_fwd * len(mb)
                    cost.backward_passes += len(mb)
        optimizer_step(state, cfg, cost)
    return {"loss": sum(losses) / len(losses)}


def update_grpo(state, rollout: Rollout, adv: AdvantageBatch, cfg, generator, cost=None) -> dict:
    if rollout.traj is None:
        raise ValueError("the grpo update needs an SDE rollout: sample(..., sde=True)")
    traj, a = rollout.traj, adv.scalar()
    n_pool, n_used = cfg.timestep_pool(), cfg.timesteps_used()
    losses, kls = [], []
    for chunk in _chunks(rollout.size, cfg, generator):
        state.optimizer.zero_grad(set_to_none=True)
        n_terms = len(chunk) * n_used
        for mb in chunk.split(cfg.minibatch):
            cond = index_cond(rollout.cond, mb)
            w_in = rollout.w[mb] if cfg.w_conditioned else None
            # sde_step takes one t per call: a minibatch shares its shuffled step order
            for j in torch.randperm(n_pool, generator=generator)[:n_used].tolist():
                t, t_next = traj.times[j], traj.times[j + 1]
                x, x_next = traj.states[j, mb], traj.states[j + 1, mb]
                tt = torch.full((len(mb),), t)
                v = state.policy(x, tt, cond, w_in)
                new = sde_step(x, v, t, t_next, cfg.noise_level, sample=x_next)
                with torch.no_grad():
                    v_ref = state.reference(x, tt, cond, None)
                    ref = sde_step(x, v_ref, t, t_next, cfg.noise_level, sample=x_next)
                terms = grpo_loss(
                    new.log_prob, traj.log_probs[j, mb], a[mb], new.mean, ref.mean, new.std,
                    cfg.clip_range, cfg.kl_beta,
                )
                (terms.loss * len(mb) / n_terms).backward()
                losses.append(terms.loss.item())
                kls.append(terms.kl.item())
                if cost is not None:
                    cost.forward_passes += 2 * len(mb)
                    cost.backward_passes += len(mb)
        optimizer_step(state, cfg, cost)
    return {"loss": sum(losses) / len(losses), "kl": sum(kls) / len(kls)}


def update(state, rollout: Rollout, adv: AdvantageBatch, cfg, generator, cost=None) -> dict:
    """One epoch's parameter update with the configured loss; returns mean loss stats."""
    fn = update_grpo if cfg.loss == "grpo" else update_nft
    return fn(state, rollout, adv, cfg, generator, cost)


def epoch_passes(cfg: TrainConfig, n_prompts: int) -> int:
    """Forward + backward passes one epoch will count (sampling and update)."""
    b = n_prompts * cfg.K * cfg.G
    fwd_per_visit = 2 if cfg.loss == "grpo" else (3 if cfg.lambda_ref > 0 else 2)
    return b * cfg.sampling_steps + b * cfg.timesteps_used() * (fwd_per_visit + 1)
