"""A slider change's time (a merge or a soup at a new w) waits for the GPU's queued work."""
from __future__ import annotations

import pytest
import torch
from baseline_helpers import lora_model, tiny_ctx, tiny_model

from baselines import lora_weights, soups, timing
from paretoslider.methods import METHODS

GPU = torch.device("cuda", 1)


@pytest.fixture
def synced(monkeypatch):
    """The devices torch.cuda.synchronize was called with (it does nothing here)."""
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", calls.append)
    return calls


def test_the_cpu_clock_never_synchronizes(synced):
    assert timing.clock(torch.device("cpu")) > 0
    assert synced == []


def test_the_cuda_clock_waits_for_its_device(synced):
    timing.clock(GPU)
    assert synced == [GPU]


@pytest.mark.parametrize("name, module", [("merging_cat", lora_weights),
                                          ("rewarded_soups", soups)])
def test_merges_and_soups_time_their_work_between_two_synchronizations(
        monkeypatch, synced, name, module):
    base = tiny_model()
    trained = {"single_photo": lora_model(base, 1), "single_sketch": lora_model(base, 2)}
    METHODS.get(name)().policy(tiny_ctx(), trained, base, (0.5, 0.5))
    assert synced == []  # on the CPU
    monkeypatch.setattr(module, "device_of", lambda model: GPU)  # as if the models were there
    policy = METHODS.get(name)().policy(tiny_ctx(), trained, base, (0.5, 0.5))
    assert synced == [GPU, GPU] and policy.switch_seconds >= 0
