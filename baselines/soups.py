"""Rewarded soups: one run per reward (one-hot fixed w), interpolated by w at inference.

Two variants, registered as two methods:
- `rewarded_soups` averages the trained parameters, theta(w) = sum_m w_m theta_m, so the
  LoRA factors A and B are averaged SEPARATELY (what the original rewarded-soups code
  does, averaging state dicts). The weight change it applies is
  s (sum_m w_m B_m)(sum_m w_m A_m), which holds the cross terms B_i A_j.
- `rewarded_soups_delta` averages the weight changes EXACTLY: it folds
  sum_m w_m s B_m A_m into the base weights.
The two agree at the vertices of the simplex and differ inside it.
"""
from __future__ import annotations

from baselines.common import single_reward_units
from baselines.lora_weights import average_parameters, delta_soup
from baselines.timing import clock, device_of
from paretoslider.methods import METHODS, Method, Policy, SuiteContext, Unit


def ingredients(units: list[Unit], trained: dict) -> list:
    """The trained single-reward models, in the order of the objectives (w's order)."""
    return [trained[u.label] for u in units]


@METHODS.register("rewarded_soups")
class RewardedSoups(Method):
    name = "rewarded_soups"
    knobs = ("lambda_ref",)

    @staticmethod
    def combine(models, w):
        return average_parameters(models, w)

    def units(self, ctx: SuiteContext) -> list[Unit]:
        return single_reward_units(ctx, self.name)

    def policy(self, ctx, trained, base, w) -> Policy:
        models = ingredients(self.units(ctx), trained)
        start = clock(device_of(models[0]))
        model = self.combine(models, w).eval().requires_grad_(False)
        return Policy(model, switch_seconds=clock(device_of(model)) - start)


@METHODS.register("rewarded_soups_delta")
class RewardedSoupsDelta(RewardedSoups):
    name = "rewarded_soups_delta"

    @staticmethod
    def combine(models, w):
        return delta_soup(models, w)

    def options_for(self, strength: dict[str, float]) -> dict:
        return {"runs": dict(strength)} if strength else {}
