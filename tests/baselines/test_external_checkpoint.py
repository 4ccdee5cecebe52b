"""`external` reads the checkpoints of the accelerate entry point: LoRA (and preference
modules) under `policy/...lora_A.default.weight`, put onto the world's base model."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from baselines.external import checkpoint_file
from bench.config.suite import load_suite
from bench.config.suite_files import compose_part
from paretoslider.methods import METHODS
from paretoslider.trainer.distributed import main as train_distributed


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A slider trained one epoch on the smoke suite by the entry point (LoRA rank 4)."""
    root = tmp_path_factory.mktemp("accelerate")
    (root / "suite.yaml").write_text(json.dumps(compose_part("smoke", {})))  # JSON is YAML
    train_distributed(["--suite", str(root / "suite.yaml"), "--out", str(root / "run"),
                       "--epochs", "1"])
    return root / "run"


def _external(name: str, checkpoint, **trainer):
    raw = compose_part("smoke", {})
    raw |= {"methods": [name], "trainer": {**raw["trainer"], **trainer},
            "method_options": {name: {"checkpoint": str(checkpoint),
                                      "declared_cost": {"passes": 1}}}}
    suite = load_suite(raw)
    [unit] = METHODS.get(name)().units(suite.context(0))
    return suite, unit


def test_external_loads_the_entry_points_lora_checkpoint(trained):
    suite, unit = _external("external_conditioned", trained)
    tensors = load_file(checkpoint_file(trained))
    trained_lora = {k.removeprefix("policy/"): t for k, t in tensors.items()
                    if k.startswith("policy/") and ".lora_B.default.weight" in k}
    assert trained_lora and any(t.abs().sum() > 0 for t in trained_lora.values())

    world = suite.build_world()
    model = unit.load_model(world)
    weights = model.state_dict()
    policy = {k.removeprefix("policy/"): t for k, t in tensors.items() if k.startswith("policy/")}
    for name, t in policy.items():
        assert torch.equal(weights[name], t.to(weights[name].dtype)), name

    base = world.base_model()
    x = torch.randn(2, *base.image_shape, generator=torch.Generator().manual_seed(0))
    t, cond = torch.full((2,), 0.5), base.encode_prompts(["a circle", "a square"])
    with torch.no_grad():
        assert not torch.allclose(model(x, t, cond, torch.full((2, 2), 0.5)), base(x, t, cond))


def test_the_run_folder_its_ckpt_folder_and_its_tensor_file_name_one_checkpoint(trained):
    keys = {_external("external_conditioned", p)[1].key()
            for p in (trained, trained / "ckpt", checkpoint_file(trained))}
    assert len(keys) == 1


def test_another_lora_rank_than_the_suites_is_refused_in_one_line(trained):
    suite, unit = _external("external_conditioned", trained, lora_rank=8)
    with pytest.raises(ValueError, match=r"LoRA of rank \[4\], the suite's trainer.lora_rank is 8"):
        unit.load_model(suite.build_world())
