"""Before any training: every weight set a suite will load from outside the project (the
generator, the training rewards, the held-out judges, the adherence scorers) found on this
machine, or one line each naming what is missing and how to provide it (with the licence
or login hint of a gated model). `bench.run` stops before any work when one is missing;
`python -m bench.doctor --suite NAME` runs the same check.
"""
from __future__ import annotations

from paretoslider.weights import missing_weights


def needed_weights(suite) -> list[tuple[str, str, str | None]]:
    """(what, model, environment variable) of the world's and every scorer's weights."""
    world = suite.build_world()
    out = list(getattr(world, "weights", list)())
    for name in suite.scorers():
        out += world.reward(name).weights()
    return list(dict.fromkeys(out))  # PickScore and its processor appear for two rewards


def preflight(suite) -> list[str]:
    """One line per missing weight set; [] when everything is found (nothing is downloaded)."""
    return [line for what, model, env in needed_weights(suite)
            if (line := missing_weights(model, what, env)) is not None]
