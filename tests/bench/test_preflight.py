"""Every weight a suite loads from outside is checked before any work: one line per missing
set (generator, training rewards, held-out judges), through bench.run and bench.doctor."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paretoslider.rewards import build_reward
from paretoslider.weights import missing_weights

ROOT = Path(__file__).resolve().parents[2]
VARS = ("PARETOSLIDER_SD3", "PARETOSLIDER_CLIP", "PARETOSLIDER_CLIP_HELDOUT",
        "PARETOSLIDER_PICKSCORE", "PARETOSLIDER_PICKSCORE_PROCESSOR", "PARETOSLIDER_IMAGEREWARD_DIR")


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in VARS}
    return {**env, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", **extra}


def test_bench_run_lists_every_missing_weight_set_before_any_work(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench.run", "suite=sd35_photo_sketch",
                          f"results_dir={tmp_path / 'out'}", f"cache_dir={tmp_path / 'c'}"],
                         cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 1, out.stderr[-2000:]
    missing = [ln for ln in out.stderr.splitlines() if ln.startswith("missing: ")]
    named = " ".join(missing)
    for what in ("SD3 weights 'stabilityai/stable-diffusion-3.5-medium'", "PickScore weights",
                 "CLIP weights 'openai/clip-vit-large-patch14'",
                 "CLIP weights 'laion/CLIP-ViT-H-14-laion2B-s32B-b79K'"):  # the held-out judges
        assert what in named, named
    assert "accept its licence" in named  # SD3.5 is gated
    assert out.stderr.strip().splitlines()[-1].startswith(
        "error: suite sd35_photo_sketch: ") and "nothing was started" in out.stderr
    assert not (tmp_path / "out").exists()


def test_a_local_folder_counts_when_it_holds_a_config(tmp_path):
    folder = tmp_path / "sd3"
    folder.mkdir()
    assert "no config .json" in missing_weights(str(folder), "SD3", "PARETOSLIDER_SD3")
    (folder / "model_index.json").write_text("{}")
    assert missing_weights(str(folder), "SD3", "PARETOSLIDER_SD3") is None


def test_imagereward_names_its_checkpoint_and_text_model(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    reward = build_reward("imagereward", download_root=str(tmp_path / "ir"))
    (what, pt, env), (text, bert, _) = reward.weights()
    assert pt == str(tmp_path / "ir" / "ImageReward.pt") and env == "PARETOSLIDER_IMAGEREWARD_DIR"
    assert "no such file" in missing_weights(pt, what, env)
    assert bert == "bert-base-uncased" and missing_weights(bert, text) is not None


@pytest.mark.parametrize("suite, ok", [("sd35_photo_sketch", False), ("smoke", True)])
def test_doctor_checks_a_suites_weights(tmp_path, suite, ok):
    out = subprocess.run([sys.executable, "-m", "bench.doctor", "--suite", suite], cwd=ROOT,
                         env=_env(tmp_path), capture_output=True, text=True, timeout=300,
                         check=False)
    if ok:
        assert "[ok] suite smoke loads no weights from outside the project" in out.stdout
    else:
        assert out.returncode == 1 and "[FAIL] SD3 weights" in out.stdout
