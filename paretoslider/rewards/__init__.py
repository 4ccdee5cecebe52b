"""Rewards of the shapes world (and the registry real-scale rewards join).

Importing this package registers every built-in reward: the style judges and prompt
adherence (`judges`), their held-out twins, prompt adherence measured from the silhouette
with no network (`silhouette`, evaluation only), and the measured properties of the image
(`measures`, `photometric`, `figure`), each with a held-out twin measured another way, and
the target objectives with a known front for any M (`targets`, on `attributes`).
"""
# registers the built-ins; clip_rewards, imagereward and remote are the real-scale rewards
from paretoslider.rewards import (  # noqa: F401
    clip_rewards,
    figure,
    imagereward,
    judges,
    measures,
    photometric,
    remote,
    silhouette,
    targets,
)
from paretoslider.rewards.base import REWARDS, Reward, build_reward, normalise

__all__ = ["REWARDS", "Reward", "build_reward", "normalise"]
