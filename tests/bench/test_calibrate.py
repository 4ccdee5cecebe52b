"""The ideal-box calibration: quantiles of normalised scores, and the block written into a suite."""
import pytest
import torch

from bench.cli import calibrate


def test_box_high_is_the_quantile_of_normalised_scores(monkeypatch):
    class Flat:
        range = (0.0, 2.0)

        def __call__(self, images, prompts):
            return images.flatten(1).mean(1) * 2.0  # normalised: the image mean

    monkeypatch.setattr(calibrate, "build_reward", lambda name: Flat())
    images = torch.linspace(0, 1, 101).view(101, 1, 1, 1)
    assert calibrate.box_high(images, [""] * 101, ["a"], quantile=0.99) == [pytest.approx(0.99)]


def test_write_box_replaces_the_block_and_keeps_other_lines(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nideal_box:\n  train: [[0, 1], [0, 1]]\n  heldout: [[0, 1], [0, 1]]\n"
                    "seeds: [0]\n")
    box = {"train": [[0.0, 0.5], [0.0, 0.25]], "heldout": [[0.0, 0.75], [0.0, 0.5]]}
    calibrate.write_box(path, box)
    import yaml
    raw = yaml.safe_load(path.read_text())
    assert raw["ideal_box"] == box and raw["seeds"] == [0] and raw["name"] == "s"
    calibrate.write_box(path, box)  # idempotent: one block only
    assert path.read_text().count("ideal_box:") == 1


def test_unknown_suite_is_refused_before_any_work(capsys):
    with pytest.raises(SystemExit) as exc:
        calibrate.main(["no_such_suite"])
    assert exc.value.code != 0
