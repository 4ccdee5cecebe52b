"""bench.cli.tune reads the frontier's picks and lays them over a suite's method_options."""
from __future__ import annotations

import subprocess
import sys

import yaml

from bench.cli.tune import merged, options_block, write_options


def test_picks_are_laid_over_the_current_options():
    current = {"paretoslider": {"lr": 2e-3, "lambda_ref": 1.0}, "merging_linear": {"lambda": 2.0},
               "merging_ties": {"lambda": 4.0, "density": 1.0}}
    picks = {"paretoslider": {"lambda_ref": 0.6},
             "merging_linear": {"lambda": 1.0, "runs": {"lambda_ref": 0.3}}}
    out = merged(current, picks)
    assert out["paretoslider"] == {"lr": 2e-3, "lambda_ref": 0.6}
    assert out["merging_linear"] == {"lambda": 1.0, "runs": {"lambda_ref": 0.3}}
    assert out["merging_ties"] == current["merging_ties"]


def test_write_replaces_only_the_options_block(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\n# old comment\nmethod_options:\n  paretoslider: {lr: 0.002}\n"
                    "  fixed_weight: {lr: 0.0005}\nideal_box: 1\n")
    write_options(path, {"paretoslider": {"lr": 0.002, "lambda_ref": 0.6}}, "s")
    text = path.read_text()
    assert "old comment" not in text and text.startswith("name: s\n# each method")
    assert yaml.safe_load(text) == {"name": "s", "ideal_box": 1, "method_options": {
        "paretoslider": {"lr": 0.002, "lambda_ref": 0.6}}}
    assert options_block({"m": {"runs": {"lambda_ref": 0.3}}}, "s").endswith(
        "  m: {runs: {lambda_ref: 0.3}}\n")


def test_write_records_the_seeds_of_the_choice_once(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nchosen_on_seeds: [7]\nmethod_options:\n  m: {lr: 0.1}\n")
    for _ in range(2):  # rewriting replaces the line, it does not add another
        write_options(path, {"m": {"lr": 0.1, "lambda_ref": 1.0}}, "s", [0, 1, 2])
    text = path.read_text()
    assert text.count("chosen_on_seeds") == 1
    assert yaml.safe_load(text) == {"name": "s", "chosen_on_seeds": [0, 1, 2],
                                    "method_options": {"m": {"lr": 0.1, "lambda_ref": 1.0}}}


def test_missing_picks_are_one_line_with_the_command(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench.tune", "suite=two_obj",
                          f"results_dir={tmp_path}"], check=False, capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        (f"error: no picks in {tmp_path}/two_obj_frontier/chosen.yaml: run `python -m bench.run "
        f"suite=two_obj_frontier results_dir={tmp_path}` first")]
    out = subprocess.run([sys.executable, "-m", "bench.tune", "suite=gauss"], check=False,
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("error: suite gauss has no frontier suite 'gauss_frontier'")
