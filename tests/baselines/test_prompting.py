from __future__ import annotations

import pytest
from baseline_helpers import tiny_ctx, tiny_model

from baselines.prompting import coarse_points
from paretoslider.methods import METHODS


def rewrite_at(w, prompt="a circle", objectives=("photo", "sketch")):
    ctx = tiny_ctx()
    ctx.objectives = objectives
    policy = METHODS.get("prompting")().policy(ctx, {}, "base", w)
    assert policy.model == "base" and policy.w is None
    return policy.rewrite(prompt)


@pytest.mark.parametrize("w, want", [
    ((1.0, 0.0), "a photo of a circle"),
    ((0.0, 1.0), "a sketch of a circle"),
    ((0.5, 0.5), "a circle"),
    ((0.8, 0.2), "a photo of a circle"),  # 0.28 from the vertex, 0.42 from the centre
    ((0.3, 0.7), "a circle"),
    ((0.75, 0.25), "a circle"),  # equidistant: the centre wins
])
def test_two_styles_pick_the_nearest_coarse_point(w, want):
    assert rewrite_at(w) == want


def test_an_existing_style_word_is_replaced_and_the_shape_kept():
    assert rewrite_at((0.0, 1.0), "a photo of a square") == "a sketch of a square"
    assert rewrite_at((0.5, 0.5), "a photo of a square") == "a square"


def test_objectives_that_are_not_styles_get_no_word():
    objectives = ("photo", "jpeg")
    assert [s for _, s in coarse_points(objectives)] == [None, "photo"]
    assert rewrite_at((0.0, 1.0), objectives=objectives) == "a circle"
    assert rewrite_at((1.0, 0.0), objectives=objectives) == "a photo of a circle"


def test_three_styles_and_no_training():
    objectives = ("photo", "sketch", "watercolor")
    assert rewrite_at((0.0, 0.0, 1.0), objectives=objectives) == "a watercolor of a circle"
    assert rewrite_at((0.3, 0.4, 0.3), objectives=objectives) == "a circle"
    assert METHODS.get("prompting")().units(tiny_ctx()) == []
    assert tiny_model().encode_prompts(["a photo of a circle"])  # the words are in the vocabulary
