"""Every registered method, reward and world passes its contract (paretoslider.testing)."""
from __future__ import annotations

import pytest

import baselines  # noqa: F401  (registers the baselines)
from paretoslider.methods import METHODS
from paretoslider.rewards import REWARDS
from paretoslider.testing import (
    ContractSkip,
    check_method,
    check_reward,
    check_world,
    render_samples,
    smoke_context,
)
from paretoslider.worlds import WORLDS

IMAGES = render_samples(8)


def _run(check, *args, **kwargs):
    try:
        check(*args, **kwargs)
    except ContractSkip as why:
        pytest.skip(str(why))


@pytest.mark.parametrize("name", REWARDS.names())
def test_reward_contract(name):
    _run(check_reward, name, *IMAGES)


@pytest.mark.parametrize("name", WORLDS.names())
def test_world_contract(name):
    _run(check_world, name)


@pytest.mark.parametrize("name", METHODS.names())
def test_method_contract(name):
    _run(check_method, name, smoke_context())


def test_a_method_over_its_budget_breaks_the_contract():
    from paretoslider.methods import Method, Unit

    class Greedy(Method):
        name = "greedy"

        def units(self, ctx):
            cfg = ctx.base_cfg.__class__(**{**ctx.base_cfg.__dict__,
                                            "budget_passes": ctx.budget_passes})
            return [Unit("a", cfg, ctx.objectives), Unit("b", cfg, ctx.objectives)]

    METHODS.register("greedy_for_test")(Greedy)
    try:
        with pytest.raises(AssertionError, match="more than the method's"):
            check_method("greedy_for_test", smoke_context())
    finally:
        METHODS._entries.pop("greedy_for_test", None)


def test_a_method_reading_a_run_it_did_not_declare_breaks_the_contract():
    from paretoslider.methods import Method, Policy, Unit

    class Sly(Method):
        name = "sly"

        def units(self, ctx):
            cfg = ctx.base_cfg.__class__(**{**ctx.base_cfg.__dict__,
                                            "budget_passes": ctx.budget_passes // 2})
            return [Unit("a", cfg, ctx.objectives), Unit("b", cfg, ctx.objectives)]

        def units_at(self, ctx, w):
            return ("a",)

        def policy(self, ctx, trained, base, w):
            return Policy(trained["b"])

    METHODS.register("sly_for_test")(Sly)
    try:
        with pytest.raises(AssertionError, match="reads run 'b'"):
            check_method("sly_for_test", smoke_context())
    finally:
        METHODS._entries.pop("sly_for_test", None)


def test_a_reward_outside_its_range_breaks_the_contract():
    from paretoslider.rewards.base import Reward

    class Loud(Reward):
        name, range = "loud", (0.0, 1.0)

        def score(self, images, prompts):
            return images.flatten(1).mean(dim=1) + 5

    REWARDS.register("loud_for_test")(Loud)
    try:
        with pytest.raises(AssertionError, match="leave the declared range"):
            check_reward("loud_for_test", *IMAGES)
    finally:
        REWARDS._entries.pop("loud_for_test", None)


def test_the_example_plugin_passes_its_contracts(monkeypatch):
    import sys
    from pathlib import Path

    from paretoslider.worlds import WORLDS

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "examples" / "plugin"))
    from example_plugin.method import RewardWeightedFM
    from example_plugin.reward import Symmetry
    from example_plugin.world import GrayShapesWorld

    added = [(REWARDS, "symmetry", Symmetry), (METHODS, "reward_weighted_fm", RewardWeightedFM),
             (WORLDS, "shapes_gray", GrayShapesWorld)]
    for registry, name, obj in added:
        if name not in registry._entries:
            registry.register(name)(obj)
    try:
        check_reward("symmetry", *IMAGES)
        check_world("shapes_gray")
        check_method("reward_weighted_fm", smoke_context())
    finally:
        for registry, name, obj in added:
            if registry._entries.get(name) is obj:
                registry._entries.pop(name)
        sys.modules.pop("example_plugin", None)
