"""The baselines, each registering itself into paretoslider.methods.METHODS on import.

fixed_weight, flow_multi, prompting, rewarded_soups, rewarded_soups_delta, merging_linear,
merging_ties, merging_dare_ties, merging_svd, merging_cat. `train_method` trains every run
of one method in one call (see baselines.train); `python -m baselines.demo` runs them all.
"""
from baselines import fixed_weight, flow_multi, merging, prompting, soups  # noqa: F401
from baselines.common import BudgetError
from baselines.train import MethodRun, mean_rewards, train_method

__all__ = ["BudgetError", "MethodRun", "mean_rewards", "train_method"]
