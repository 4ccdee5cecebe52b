"""`python -m bench.calibrate SUITE [SUITE ...] [--write]`: the ideal box of a suite's HV norm.

HV norm divides a front's hypervolume by the volume of the suite's ideal box [ref, high]^M
(points clipped to the box first, so HV norm lies in [0, 1]). `high_m` is what the base
generator itself reaches on objective m: the 99th percentile of its normalised per-image score
over base-model samples of the suite's evaluation prompts, drawn from a calibration noise seed
that no evaluation uses. The box is measured once, before any method is trained, and written
into the suite file (`--write`): it is never recomputed from the methods being compared, so
HV norm is comparable across methods and, being a share of the box, across M.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import torch

from bench.config.suite import SuiteError, load_suite, read_suite_file
from bench.config.suite_files import CONF, known_suites
from bench.store.files import atomic_text
from paretoslider.cli import Parser, positive_int
from paretoslider.rewards import build_reward, normalise

QUANTILE = 0.99
CALIBRATION_SEED = 424242  # no suite evaluates with this noise seed


def base_samples(prompts: list[str], per_prompt: int, steps: int, seed: int = CALIBRATION_SEED):
    """Base-model samples in [0, 1], `per_prompt` for each prompt, and their prompts."""
    from paretoslider.worlds.pretrain import load_base_model
    from paretoslider.worlds.quality_gate import sample_images

    rows = [p for p in prompts for _ in range(per_prompt)]
    return sample_images(load_base_model(), rows, seed, steps=steps), rows


def box_high(images: torch.Tensor, rows: list[str], names: list[str],
             quantile: float = QUANTILE) -> list[float]:
    """Per reward, the `quantile` of its normalised per-image score on `images`."""
    out = []
    for name in names:
        reward = build_reward(name)
        values = normalise(reward(images, rows), reward.range)
        out.append(round(float(torch.quantile(values.float(), quantile)), 4))
    return out


def ideal_box(suite, per_prompt: int = 128) -> dict[str, list[list[float]]]:
    """{"train": [[lo, hi], ...], "heldout": ...}: lo the reference point, hi `box_high`."""
    images, rows = base_samples(suite.evaluation_prompts(), per_prompt, suite.eval["steps"])
    ref = [float(r) for r in suite.ref_point]
    box = {}
    for space, names in (("train", suite.objectives), ("heldout", suite.heldout)):
        high = box_high(images, rows, names)
        if any(h <= lo for h, lo in zip(high, ref)):
            raise SuiteError(f"{suite.name}: the base model never rises above the reference "
                             f"point on some {space} objective ({high}); no box to calibrate")
        box[space] = [[lo, h] for lo, h in zip(ref, high)]
    return box


def box_yaml(box: dict) -> str:
    """The `ideal_box:` block as it is written into a suite file (one line per space)."""
    lines = ["ideal_box:   # python -m bench.calibrate: base samples' 99th percentile per reward"]
    for space, pairs in box.items():
        lines.append(f"  {space}: {[[float(a), float(b)] for a, b in pairs]}")
    return "\n".join(lines) + "\n"


def write_box(path: Path, box: dict) -> None:
    """Replace the suite file's ideal_box block (or append one); other lines are kept."""
    text = path.read_text()
    block = re.compile(r"^ideal_box:.*\n(?:[ \t]+.*\n)*", re.MULTILINE)
    text = block.sub(lambda _: box_yaml(box), text) if block.search(text) else (
        text.rstrip("\n") + "\n" + box_yaml(box))
    atomic_text(path, text)


def main(argv=None) -> None:
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("suites", nargs="+", choices=known_suites(), metavar="SUITE")
    p.add_argument("--per-prompt", type=positive_int, default=128)
    p.add_argument("--write", action="store_true", help="write the box into the suite file")
    args = p.parse_args(argv)
    suites = {}
    try:
        for name in args.suites:
            raw = read_suite_file(name)
            if "parts" in raw or raw.get("world") != "shapes":
                raise SuiteError(f"suite {name} is not a shapes-world suite with objectives")
            suites[name] = load_suite(raw)
    except SuiteError as exc:
        sys.exit(f"error: {exc}")
    torch.set_num_threads(1)
    for name, suite in suites.items():
        try:
            box = ideal_box(suite, args.per_prompt)
        except SuiteError as exc:
            sys.exit(f"error: {exc}")
        volume = {s: float(np.prod([b - a for a, b in pairs])) for s, pairs in box.items()}
        print(f"{name}: box volume train {volume['train']:.4f}, held-out {volume['heldout']:.4f}")
        print(box_yaml(box), end="")
        if args.write:
            write_box(CONF / "suite" / f"{name}.yaml", box)


if __name__ == "__main__":
    main()
