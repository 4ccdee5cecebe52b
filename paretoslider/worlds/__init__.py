"""World registry: a world supplies the base model, its rewards and the decode rewards read.

`shapes` is the embedded default (images); `gauss` is the known-answer world (vectors).
Imports are lazy so that importing one world never loads the others' models.
"""
from __future__ import annotations

from paretoslider.registry import Registry

WORLDS: Registry = Registry("world")


@WORLDS.register("shapes")
class ShapesWorld:
    images = True

    def __init__(self, **options):
        self.options = options

    def base_model(self):
        from paretoslider.worlds.pretrain import load_base_model

        return load_base_model(self.options.get("base_model"))

    def fingerprint(self) -> str:
        """Identity of what results depend on beyond the suite config: the bytes of the base
        weights and of the judges' files."""
        import hashlib

        from paretoslider.rewards.judges import JUDGE_DIR
        from paretoslider.worlds.pretrain import base_weights_path

        digest = hashlib.sha256(base_weights_path(self.options.get("base_model")).read_bytes())
        for path in sorted(JUDGE_DIR.glob("*")):
            digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()[:16]

    def reward(self, name: str):
        from paretoslider.rewards import build_reward

        return build_reward(name)

    def reward_names(self) -> list[str]:
        from paretoslider.rewards import REWARDS

        return REWARDS.names()

    @staticmethod
    def decode(x0):
        return (x0.clamp(-1, 1) + 1) / 2

    @staticmethod
    def known_optimum(objectives, w) -> dict | None:
        """The true optimum at w of a target set (`rewards.targets`): its utility max w.r
        and the scores there; None for objectives with no known front."""
        from paretoslider.rewards.targets import target_objectives

        found = target_objectives(objectives)
        if found is None:
            return None
        utility, scores = found.optimum([float(x) for x in w])
        return {"utility": utility, "scores": [float(x) for x in scores]}

    @staticmethod
    def check_prompt(prompt: str) -> None:
        """Raise ValueError for a prompt this world cannot render or score (no shape named)."""
        from paretoslider.worlds.shapes import parse_prompt

        parse_prompt(prompt)


@WORLDS.register("gauss")
class GaussSuiteWorld:
    """Linear rewards named linear0, linear1, ... along `directions` (M, d)."""

    images = False

    def __init__(self, directions=((1.0, 0.0), (0.0, 1.0)), hidden: int = 64, depth: int = 2,
                 pretrain_steps: int = 300, seed: int = 0):
        from paretoslider.worlds.gauss import GaussWorld

        self.world = GaussWorld(directions)
        self.model_args = {"dim": self.world.dim, "hidden": hidden, "depth": depth,
                           "steps": pretrain_steps, "seed": seed}
        self._rewards = {r.name: r for r in self.world.rewards()}

    def base_model(self):
        from paretoslider.worlds.gauss import make_base_model

        return make_base_model(**self.model_args).eval().requires_grad_(False)

    def fingerprint(self) -> str:
        """The base model is trained from these options, deterministically."""
        from paretoslider.checkpoint import dict_hash

        return dict_hash({**self.model_args, "directions": self.world.a.tolist()})

    def reward(self, name: str):
        if name not in self._rewards:
            raise ValueError(f"unknown gauss reward {name!r}; known: {', '.join(self._rewards)}")
        return self._rewards[name]

    def reward_names(self) -> list[str]:
        return list(self._rewards)

    def measure(self, w, samples, base_samples) -> dict:
        """The known answer at w: angle of the mean shift from sum_m w_m a_m / |a_m|."""
        from paretoslider.worlds.gauss import known_answer

        return {"known_answer": known_answer(self.world, w, samples, base_samples)}

    @staticmethod
    def decode(x0):
        return x0


@WORLDS.register("sd35")
def _sd35(**options):
    """SD3.5 with real reward models; loads nothing until a model or reward is asked for."""
    from paretoslider.backbones.sd3 import SD3World

    return SD3World(**options)


def build_world(name: str, **options):
    return WORLDS.get(name)(**options)
