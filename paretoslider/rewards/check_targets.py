"""`python -m paretoslider.rewards.check_targets`: the target sets against the base model.

Measures the attributes' mean and spread on base-model samples (the constants MEAN and
SPREAD of `targets` come from here), how well each held-out twin agrees with its training
measure, and, per set targets2 ... targets5: whether every target is reachable (the best base
sample's r_m, and the share of samples with r_m >= 0.5) and the volume of the true front
(its HV on the evaluation grid, with the reference point at 0).
"""
from __future__ import annotations

import numpy as np
import torch

from paretoslider.rewards.attributes import NAMES, attributes, attributes_heldout
from paretoslider.rewards.targets import SIZES, target_set

CALIBRATION = {"per_prompt": 128, "seed": 424242, "steps": 10}


def base_attributes(per_prompt: int = CALIBRATION["per_prompt"],
                    seed: int = CALIBRATION["seed"]) -> dict[str, torch.Tensor]:
    """Both spaces' attributes of base-model samples of every shape prompt."""
    from paretoslider.worlds.pretrain import load_base_model
    from paretoslider.worlds.quality_gate import sample_images
    from paretoslider.worlds.shapes import SHAPES, make_prompt

    prompts = [make_prompt(s) for s in SHAPES for _ in range(per_prompt)]
    images = sample_images(load_base_model(), prompts, seed, steps=CALIBRATION["steps"])
    return {"train": attributes(images).double(), "heldout": attributes_heldout(images).double()}


def set_check(m: int, values: dict[str, torch.Tensor], grid: np.ndarray) -> dict:
    """Reachability of each target and the true front's volume for targets<m>."""
    from pymoo.indicators.hv import HV

    ts = target_set(m)
    r = ts.scores(ts.standardise(values["train"], "train").numpy())
    _, front = ts.front(grid)
    return {"best": r.max(axis=0), "share": (r >= 0.5).mean(axis=0),
            "front_hv": float(HV(ref_point=np.zeros(m))(-front))}


def main() -> None:
    from paretoslider.preferences import eval_grid

    torch.set_num_threads(1)
    values = base_attributes()
    for space, v in values.items():
        print(f"{space}: MEAN {tuple(round(float(x), 4) for x in v.mean(0))} "
              f"SPREAD {tuple(round(float(x), 4) for x in v.std(0))}")
    agree = [float(np.corrcoef(values["train"][:, k], values["heldout"][:, k])[0, 1])
             for k in range(len(NAMES))]
    print("twin agreement (Pearson): " + ", ".join(f"{n} {a:.3f}" for n, a in zip(NAMES, agree)))
    for m in SIZES:
        found = set_check(m, values, eval_grid(m, kind="anchored").double().numpy())
        print(f"targets{m}: best base sample r_m {np.round(found['best'], 3).tolist()}, share "
              f"r_m >= 0.5 {np.round(found['share'], 3).tolist()}, true front HV "
              f"{found['front_hv']:.4f} (HV^(1/M) {found['front_hv'] ** (1 / m):.3f})")


if __name__ == "__main__":
    main()
