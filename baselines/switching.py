"""Switching: no blending at all, the reference that front metrics of means cannot tell apart.

At a preference w each evaluation sample comes from objective m's single-objective policy
with probability w_m (the rewarded soups' one-hot runs, shared, nothing trained for it). Its
mean rewards trace a front between the two extremes, yet no single image trades the
objectives off: a method whose metrics match switching's may be switching too.
"""
from __future__ import annotations

from baselines.common import single_reward_units
from baselines.soups import ingredients
from paretoslider.methods import METHODS, Method, MixturePolicy, Policy, SuiteContext, Unit


@METHODS.register("switching")
class Switching(Method):
    name = "switching"
    knobs = ("lambda_ref",)

    def units(self, ctx: SuiteContext) -> list[Unit]:
        return single_reward_units(ctx, self.name)

    def options_for(self, strength: dict[str, float]) -> dict:
        return {"runs": dict(strength)} if strength else {}

    def policy(self, ctx, trained, base, w) -> MixturePolicy:
        models = ingredients(self.units(ctx), trained)
        return MixturePolicy([Policy(m) for m in models], tuple(float(x) for x in w),
                             seed=ctx.base_cfg.seed)
