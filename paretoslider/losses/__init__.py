"""Training losses: DiffusionNFT per objective (the method) and Flow-GRPO (an option)."""
from paretoslider.losses.grpo import GRPOTerms, grpo_loss, ppo_clipped, step_kl
from paretoslider.losses.nft import (
    NFTTerms,
    adaptive_l2,
    advantage_to_q,
    ema_decay,
    ema_update,
    nft_loss,
    reference_regularizer,
    x0_from_v,
)

__all__ = [
    "GRPOTerms", "NFTTerms", "adaptive_l2", "advantage_to_q", "ema_decay", "ema_update",
    "grpo_loss", "nft_loss", "ppo_clipped", "reference_regularizer", "step_kl", "x0_from_v",
]
