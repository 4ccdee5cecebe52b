"""FixedWeight: the slider's RL with the preference input removed, one run per grid point.

Each run trains with per-objective NFT and late scalarisation at one fixed w (every
preference slot of every prompt holds that w), so it differs from ParetoSlider only in
that the model never sees w. At an evaluation w the run whose training w is nearest
(Euclidean; ties to the earlier grid point) answers, called without a w input.
"""
from __future__ import annotations

from baselines.common import check_budget, fixed_w_unit, nearest, w_label
from paretoslider.methods import METHODS, Method, Policy, SuiteContext, Unit


@METHODS.register("fixed_weight")
class FixedWeight(Method):
    name = "fixed_weight"
    knobs = ("lambda_ref",)

    def units(self, ctx: SuiteContext) -> list[Unit]:
        if not ctx.fixed_grid:
            raise ValueError("fixed_weight needs a non-empty fixed_grid")
        budget = self.split_budget(ctx, len(ctx.fixed_grid))
        options = ctx.options.get("fixed_weight", {})
        units = [fixed_w_unit(ctx, f"fixed_w{w_label(w)}", w, budget, options)
                 for w in ctx.fixed_grid]
        return check_budget(self.name, ctx, units)

    @staticmethod
    def label_at(ctx, w) -> str:
        """The run that answers at w: the one trained nearest to it."""
        return f"fixed_w{w_label(ctx.fixed_grid[nearest(ctx.fixed_grid, w)])}"

    def units_at(self, ctx, w) -> tuple[str, ...]:
        return (self.label_at(ctx, w),)

    def policy(self, ctx, trained, base, w) -> Policy:
        return Policy(trained[self.label_at(ctx, w)])
