"""World fingerprints: what results depend on beyond a suite's config."""
import shutil

import pytest
from safetensors.torch import load_file, save_file

from paretoslider.worlds import build_world
from paretoslider.worlds.pretrain import BASE_WEIGHTS


def test_shapes_fingerprint_follows_the_base_weights_bytes(tmp_path):
    copy = tmp_path / "base.safetensors"
    shutil.copy(BASE_WEIGHTS, copy)
    shutil.copy(BASE_WEIGHTS.with_suffix(".json"), copy.with_suffix(".json"))
    default = build_world("shapes").fingerprint()
    assert build_world("shapes", base_model=str(copy)).fingerprint() == default
    tensors = load_file(str(copy))
    name = next(iter(tensors))
    tensors[name] = tensors[name] + 1e-3
    save_file(tensors, str(copy))
    assert build_world("shapes", base_model=str(copy)).fingerprint() != default


def test_shapes_fingerprint_names_missing_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m paretoslider.worlds.pretrain"):
        build_world("shapes", base_model=str(tmp_path / "none.safetensors")).fingerprint()


def test_gauss_fingerprint_follows_its_options():
    a = build_world("gauss").fingerprint()
    assert build_world("gauss").fingerprint() == a
    assert build_world("gauss", pretrain_steps=301).fingerprint() != a
    assert build_world("gauss", directions=[[1.0, 0.0], [0.6, 0.8]]).fingerprint() != a
