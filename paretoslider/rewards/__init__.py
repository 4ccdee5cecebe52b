"""Rewards of the shapes world (and the registry real-scale rewards join).

Importing this package registers every built-in reward: the style judges and prompt
adherence (`judges`), their held-out twins, and the measured `jpeg` and `colourfulness`.
"""
from paretoslider.rewards import judges, measures  # noqa: F401  (registers the built-ins)
from paretoslider.rewards.base import REWARDS, Reward, build_reward, normalise

__all__ = ["REWARDS", "Reward", "build_reward", "normalise"]
