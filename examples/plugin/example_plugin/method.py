"""Reward-weighted flow matching: regress the policy's velocity onto its own samples, each
weighted by how much better than its group it scored (the advantage, clipped at 0).

An SFT-style update on the harness's sampler: the harness draws the samples, scores them,
normalises the advantages per (prompt, w) group, picks timesteps and noise, counts every
pass against the budget and keeps checkpoints; the method supplies only the loss.
"""
from __future__ import annotations

import torch

from baselines.custom_loss import CustomLossMethod, LossBatch


class RewardWeightedFM(CustomLossMethod):
    name = "reward_weighted_fm"  # the registered name (entry point) and the records' name
    reads = ("policy", "reference")  # the models the loss asks for, counted as passes
    version = "1"  # bump when the loss changes: cached runs of the old loss are not reused
    ref_weight = 0.5  # pull towards the frozen reference, against drifting off the data

    @staticmethod
    def loss(batch: LossBatch) -> torch.Tensor:
        v = batch.velocity("policy")
        weight = batch.scalar_advantage().clamp(min=0)  # (B,) only better-than-group samples
        fit = ((v - batch.target) ** 2).flatten(1).mean(1)
        stay = ((v - batch.velocity("reference")) ** 2).flatten(1).mean(1)
        return (weight * fit).mean() + RewardWeightedFM.ref_weight * stay.mean()
