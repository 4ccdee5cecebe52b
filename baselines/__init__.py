"""The baselines, each registering itself into paretoslider.methods.METHODS on import.

fixed_weight, flow_multi, prompting, rewarded_soups, rewarded_soups_delta, merging_linear,
merging_ties, merging_dare_ties, merging_svd, merging_cat, switching (draws each sample
from one single-reward run), oracle (one run per evaluation w). `train_method` trains every run
of one method in one call (see baselines.train); `python -m baselines.demo` runs them all.
Two kinds of unit come from outside the built-in trainer: `custom_loss` (a user's loss on the
shared sampler and cost accounting) and `external` / `external_conditioned` (a checkpoint
trained elsewhere, with a declared cost); see docs/extending.md.
"""
from baselines import (  # noqa: F401
    custom_loss,
    external,
    fixed_weight,
    flow_multi,
    merging,
    oracle,
    prompting,
    soups,
    switching,
)
from baselines.common import BudgetError
from baselines.train import MethodRun, mean_rewards, train_method

__all__ = ["BudgetError", "MethodRun", "mean_rewards", "train_method"]
