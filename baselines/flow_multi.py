"""FlowMulti: Flow-GRPO on one fixed multi-reward sum, a single static model.

Early scalarisation as in the paper's baseline: the weighted sum of the RAW rewards is
formed first and only then group-normalised, so a reward with a larger scale dominates.
The weights are uniform unless ctx.options["flow_multi"]["w"] names others; the remaining
keys of that dict override trainer settings. The same model answers at every w.
"""
from __future__ import annotations

from dataclasses import replace

from baselines.common import check_budget
from paretoslider.methods import METHODS, Method, Policy, SuiteContext, Unit
from paretoslider.preferences import validate_w


@METHODS.register("flow_multi")
class FlowMulti(Method):
    name = "flow_multi"
    w_dependent = False
    knobs = ("kl_beta",)

    def units(self, ctx: SuiteContext) -> list[Unit]:
        opts = dict(ctx.options.get("flow_multi", {}))
        m = len(ctx.objectives)
        w = tuple(float(x) for x in opts.pop("w", [1.0 / m] * m))
        validate_w(w, m)
        cfg = replace(ctx.base_cfg, loss="grpo", scalarisation="early", w_conditioned=False,
                      w_sampler="fixed", w_fixed=w, budget_passes=self.split_budget(ctx, 1),
                      **opts)
        return check_budget(self.name, ctx, [Unit("flow_multi", cfg, ctx.objectives)])

    def policy(self, ctx, trained, base, w) -> Policy:
        return Policy(trained["flow_multi"])
