"""Bad data stops work with a clear error instead of poisoning a run."""
import pytest
import torch

from paretoslider.checkpoint import (
    CorruptCheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from paretoslider.trainer.steps import score


def test_a_nan_reward_stops_scoring_with_the_rewards_name():
    def bad(images, prompts):
        out = torch.ones(images.shape[0])
        out[1] = float("nan")
        return out

    bad.name = "flaky_judge"
    with pytest.raises(FloatingPointError, match="flaky_judge"):
        score(torch.zeros(3, 3, 4, 4), ["a"] * 3, [bad])


def test_a_truncated_checkpoint_is_refused_in_one_line(tmp_path):
    save_checkpoint(tmp_path, {"x": torch.ones(100)}, {"config_hash": "h"}, tag="e1")
    tensors = tmp_path / "tensors-e1.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:50])
    with pytest.raises(CorruptCheckpointError, match="corrupt") as info:
        load_checkpoint(tmp_path, "h")
    assert "\n" not in str(info.value)


def test_garbage_checkpoint_metadata_is_refused(tmp_path):
    (tmp_path / "checkpoint.json").write_text("{not json")
    with pytest.raises(CorruptCheckpointError, match="metadata"):
        load_checkpoint(tmp_path)
