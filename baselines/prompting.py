"""Prompting: the untouched base model steered by a style word in the prompt; no RL.

Coarse points, as in the paper's prompt-rewriting baseline: the simplex centre asks for the
plain prompt ("a circle"), and the vertex of each objective that names a style of the
shapes world (photo, sketch, watercolor, neon) asks for that style ("a sketch of a
circle"). An objective that is not a style (adherence, jpeg, ...) has no word to add, so it
gets no point of its own: near its vertex the plain prompt answers. At a preference w the
nearest coarse point (Euclidean; ties go to the centre) decides the rewrite. Rewrites
follow the shapes world's prompt grammar (make_prompt / parse_prompt); a prompt naming no
shape is refused by parse_prompt.
"""
from __future__ import annotations

from functools import partial

from baselines.common import nearest
from paretoslider.methods import METHODS, Method, Policy, SuiteContext, Unit
from paretoslider.worlds.shapes import STYLES, make_prompt, parse_prompt


def coarse_points(objectives) -> list[tuple[tuple[float, ...], str | None]]:
    """(point, style or None) pairs: the centre first, then one vertex per style objective."""
    m = len(objectives)
    points = [(tuple(1.0 / m for _ in range(m)), None)]
    for i, name in enumerate(objectives):
        if name in STYLES:
            points.append((tuple(1.0 if j == i else 0.0 for j in range(m)), name))
    return points


def rewrite(prompt: str, style: str | None) -> str:
    """Restate the prompt's shape with `style` (None: the plain prompt, any style removed)."""
    shape, _ = parse_prompt(prompt)
    return make_prompt(shape, style)


@METHODS.register("prompting")
class Prompting(Method):
    name = "prompting"

    def units(self, ctx: SuiteContext) -> list[Unit]:
        return []

    def style_at(self, ctx: SuiteContext, w) -> str | None:
        points = coarse_points(ctx.objectives)
        return points[nearest([p for p, _ in points], w)][1]

    def policy(self, ctx, trained, base, w) -> Policy:
        return Policy(base, rewrite=partial(rewrite, style=self.style_at(ctx, w)))
