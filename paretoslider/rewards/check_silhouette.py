"""`python -m paretoslider.rewards.check_silhouette`: the silhouette adherence on renders.

Prints its accuracy (argmax over shapes) per style and two-style blend on renders no
calibration saw, its mean top probability and its speed; `--calibrate` first re-fits SLOPE
and BIAS (`paretoslider.rewards.silhouette`) and validates with the new values. The last
line is the report as JSON.
"""
from __future__ import annotations

import json

import torch

from paretoslider.cli import Parser, positive_int
from paretoslider.rewards.silhouette import (
    CALIBRATION_SEED,
    calibrate,
    shape_fits,
    validation_report,
)
from paretoslider.worlds.shapes import sample_batch


def main(argv=None) -> None:
    p = Parser(description="Accuracy, calibration and speed of the silhouette adherence.")
    p.add_argument("--n", type=positive_int, default=4096, help="renders to validate on")
    p.add_argument("--calibrate", action="store_true",
                   help="first fit SLOPE and BIAS on as many renders of CALIBRATION_SEED")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    slope = bias = None
    if a.calibrate:
        cal = sample_batch(a.n, seed=CALIBRATION_SEED, style_word_prob=0.0)
        slope, bias = calibrate(shape_fits(cal.images), cal.shapes)
        print(f"calibration on {a.n} renders: SLOPE = {slope}, BIAS = {bias}")
    rep = validation_report(a.n, slope=slope, bias=bias)
    print(f"accuracy on {rep['n']} renders {rep['accuracy']:.4f}, mean top probability "
          f"{rep['confidence']:.4f} ({rep['images_per_s']:.0f} images/s, 1 thread)")
    for name, group in rep["per_style"].items():
        print(f"  {name:22s} n={group['n']:4d}  accuracy {group['accuracy']:.4f}")
    print(json.dumps(rep))


if __name__ == "__main__":
    main()
