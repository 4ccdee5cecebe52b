"""Oracle: a dedicated fixed-weight run at every evaluation preference, each with the full
per-model budget. It answers at w with the run trained at w, so its front is what one model
per weighting reaches; other methods' regret is measured against it.

Runs are fixed-weight runs (settings from ctx.options["fixed_weight"], then
ctx.options["oracle"]); each gets the suite's budget whatever the regime, so the set costs
(number of evaluation points) x budget passes per seed.
"""
from __future__ import annotations

from baselines.common import check_budget, fixed_w_unit, nearest, w_label
from paretoslider.methods import METHODS, Method, Policy, SuiteContext, Unit


def oracle_options(method_options: dict) -> dict:
    """The training options of the oracle's runs: the fixed-weight set's, then its own."""
    return {**(method_options.get("fixed_weight") or {}), **(method_options.get("oracle") or {})}


@METHODS.register("oracle")
class Oracle(Method):
    name = "oracle"
    budget_per_unit = True
    knobs = ("lambda_ref",)

    def units(self, ctx: SuiteContext) -> list[Unit]:
        if not ctx.eval_grid:
            raise ValueError("oracle needs the evaluation grid (ctx.eval_grid)")
        opts = oracle_options(ctx.options)
        units = [fixed_w_unit(ctx, f"oracle_w{w_label(w)}", w, ctx.budget_passes, opts)
                 for w in ctx.eval_grid]
        return check_budget(self.name, ctx, units)

    @staticmethod
    def label_at(ctx, w) -> str:
        """The run that answers at w: the one trained nearest to it."""
        return f"oracle_w{w_label(ctx.eval_grid[nearest(ctx.eval_grid, w)])}"

    def units_at(self, ctx, w) -> tuple[str, ...]:
        return (self.label_at(ctx, w),)

    def policy(self, ctx, trained, base, w) -> Policy:
        return Policy(trained[self.label_at(ctx, w)])
