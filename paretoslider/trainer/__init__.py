"""The trainer: explicit sample -> score -> advantages -> update steps and the loop over them."""
from paretoslider.trainer.config import TrainConfig, config_hash
from paretoslider.trainer.cost import Cost
from paretoslider.trainer.loop import Trainer, train
from paretoslider.trainer.state import TrainState, build_state
from paretoslider.trainer.steps import (
    AdvantageBatch,
    Rollout,
    advantages,
    sample,
    score,
    to_unit_images,
)
from paretoslider.trainer.update import epoch_passes, update, update_grpo, update_nft

__all__ = [
    "AdvantageBatch", "Cost", "Rollout", "TrainConfig", "TrainState", "Trainer", "advantages",
    "build_state", "config_hash", "epoch_passes", "sample", "score", "to_unit_images", "train",
    "update", "update_grpo", "update_nft",
]
