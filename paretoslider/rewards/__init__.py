"""Rewards of the shapes world (and the registry real-scale rewards join).

Importing this package registers every built-in reward: the style judges and prompt
adherence (`judges`), their held-out twins, and the measured `jpeg` and `colourfulness`.
"""
# registers the built-ins; clip_rewards, imagereward and remote are the real-scale rewards
from paretoslider.rewards import (  # noqa: F401
    clip_rewards,
    imagereward,
    judges,
    measures,
    remote,
)
from paretoslider.rewards.base import REWARDS, Reward, build_reward, normalise

__all__ = ["REWARDS", "Reward", "build_reward", "normalise"]
