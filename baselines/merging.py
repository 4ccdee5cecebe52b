"""Model merging: the soups' per-reward LoRAs merged by w with peft's add_weighted_adapter.

The runs are exactly the rewarded soups' (same configs, same unit keys: trained once).
What each peft combination does with LoRA factors (peft 0.2x):
- linear: A = sum_m sqrt(w_m s_m) A_m and B likewise, so the change is a product of two
  sums (cross terms, as the factor soup, but with square-root weights); exact at vertices.
- ties / dare_ties: the same factor-wise merge after pruning (magnitude / random with
  rescaling, keeping `density`), electing a sign per entry from the UNWEIGHTED factors and
  averaging the agreeing entries (a mean over the agreeing runs, not a sum). At density 1
  nothing is pruned; where all runs agree in sign each factor is the linear one divided
  by M, so the change is linear(w / M^2).
- svd: the exact change sum_m w_m s_m B_m A_m truncated by SVD to `svd_rank` (default:
  the runs' rank; exact at rank M r).
- cat: the factors concatenated, rank M r: exactly sum_m w_m s_m B_m A_m.
Options, from ctx.options["merging"] and then ctx.options["<method name>"]: density
(default 0.5), lambda (the merged change is multiplied by it, default 1), svd_rank,
majority_sign_method ("total" or "frequency"), runs (settings of its single-reward runs on top
of rewarded_soups'). The merge is redone at each w; its time is
reported as the extra cost of a slider change.
"""
from __future__ import annotations

from baselines.common import single_reward_units
from baselines.lora_weights import peft_merge
from baselines.soups import ingredients
from paretoslider.methods import METHODS, Method, Policy, SuiteContext, Unit
from paretoslider.preferences import stable_seed

DEFAULTS = {"density": 0.5, "lambda": 1.0, "svd_rank": None, "majority_sign_method": "total"}


class Merging(Method):
    combination = "linear"
    knobs = ("lambda_ref",)  # of the single-reward runs; the merge scale is a knob too

    def units(self, ctx: SuiteContext) -> list[Unit]:
        return single_reward_units(ctx, self.name)

    def options(self, ctx: SuiteContext) -> dict:
        opts = {**DEFAULTS, **ctx.options.get("merging", {}), **ctx.options.get(self.name, {})}
        opts.pop("runs", None)  # the single-reward runs' own settings (baselines.common)
        unknown = sorted(set(opts) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"{self.name}: unknown options {unknown}; known: {sorted(DEFAULTS)}")
        return opts

    def strength(self, ctx: SuiteContext) -> dict[str, float]:
        """lambda_ref of the runs, and `scale`: the merged change's factor (lambda); above 1 a
        merge extrapolates beyond its ingredients."""
        return {**super().strength(ctx), "scale": float(self.options(ctx)["lambda"])}

    def options_for(self, strength: dict[str, float]) -> dict:
        runs = {k: v for k, v in strength.items() if k != "scale"}
        return {**({"lambda": strength["scale"]} if "scale" in strength else {}),
                **({"runs": runs} if runs else {})}

    def policy(self, ctx, trained, base, w) -> Policy:
        o = self.options(ctx)
        w = [float(x) for x in w]
        model, seconds = peft_merge(
            base, ingredients(self.units(ctx), trained), w, self.combination,
            density=o["density"], svd_rank=o["svd_rank"], scale=o["lambda"],
            majority_sign_method=o["majority_sign_method"],
            seed=stable_seed(ctx.base_cfg.seed, self.name, *w),
        )
        return Policy(model, switch_seconds=seconds)


@METHODS.register("merging_linear")
class MergingLinear(Merging):
    name, combination = "merging_linear", "linear"


@METHODS.register("merging_ties")
class MergingTies(Merging):
    name, combination = "merging_ties", "ties"


@METHODS.register("merging_dare_ties")
class MergingDareTies(Merging):
    name, combination = "merging_dare_ties", "dare_ties"


@METHODS.register("merging_svd")
class MergingSVD(Merging):
    name, combination = "merging_svd", "svd"


@METHODS.register("merging_cat")
class MergingCat(Merging):
    name, combination = "merging_cat", "cat"
