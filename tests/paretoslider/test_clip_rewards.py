"""CLIP / PickScore rewards on a tiny random CLIPModel saved locally in the hub layout."""
from __future__ import annotations

import json

import pytest
import torch

from paretoslider.rewards import REWARDS, build_reward
from paretoslider.rewards.clip_rewards import load_scorer
from paretoslider.weights import MissingWeightsError

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    for var in ("PARETOSLIDER_CLIP", "PARETOSLIDER_CLIP_HELDOUT", "PARETOSLIDER_PICKSCORE",
                "PARETOSLIDER_PICKSCORE_PROCESSOR"):
        monkeypatch.delenv(var, raising=False)
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A directory with a random CLIPModel, its tokenizer and a preprocessor config."""
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c], vocab[c + "</w>"] = len(vocab), len(vocab) + 1
    cfg = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 16, "intermediate_size": 32,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "bos_token_id": 0,
                     "eos_token_id": 1, "pad_token_id": 1},
        vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 16,
                       "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2},
        projection_dim=8,
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-clip")
    CLIPModel(cfg).save_pretrained(path)
    CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77).save_pretrained(path)
    (path / "preprocessor_config.json").write_text(json.dumps(
        {"size": {"shortest_edge": 32}, "crop_size": {"height": 32, "width": 32},
         "image_mean": list(MEAN), "image_std": list(STD)}))
    return str(path)


def images(b: int = 4, h: int = 40, w: int = 56) -> torch.Tensor:
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(1))


PROMPTS = ["a cat", "a dog", "a cat", "a red house"]


@pytest.mark.parametrize("name", ["clip_score", "clip_sketch", "clip_watercolor",
                                  "clip_photo_heldout", "clip_sketch_heldout"])
def test_scores_have_batch_shape_and_lie_in_the_declared_range(tiny_clip, name):
    reward = build_reward(name, model=tiny_clip, device="cpu")
    values = reward(images(), PROMPTS)
    lo, hi = reward.range
    assert values.shape == (4,) and torch.isfinite(values).all()
    assert (values >= lo).all() and (values <= hi).all()
    assert reward.heldout == name.endswith("_heldout")


def test_zero_shot_classes_are_complementary(tiny_clip):
    sketch = build_reward("clip_sketch", model=tiny_clip, device="cpu")(images(), PROMPTS)
    swapped = build_reward("clip_sketch", model=tiny_clip, device="cpu",
                           templates=("a photo of {}", "a pencil sketch of {}"))(images(), PROMPTS)
    assert torch.allclose(sketch + swapped, torch.ones(4), atol=1e-5)


def test_pickscore_uses_the_processor_repo_and_the_prompt_prefix(tiny_clip):
    plain = build_reward("pickscore", model=tiny_clip, processor=tiny_clip, device="cpu")
    photo = build_reward("photorealism", model=tiny_clip, processor=tiny_clip, device="cpu")
    a, b = plain(images(), PROMPTS), photo(images(), PROMPTS)
    bound = plain.scorer().logit_scale  # exp(logit_scale) * cosine
    assert a.shape == b.shape == (4,) and (a.abs() <= bound + 1e-4).all()
    assert not torch.allclose(a, b)  # "a photorealistic photo of ..." is another text
    texts = plain.scorer()._text_cache
    assert "a photorealistic photo of a cat" in texts and len(texts) == 6  # 3 distinct x 2


def test_preprocessing_resizes_crops_and_normalises_in_torch(tiny_clip):
    scorer = load_scorer(tiny_clip, None, "cpu", "float32", "CLIP", None, None)
    grey = torch.tensor(MEAN).view(1, 3, 1, 1).expand(2, 3, 40, 56)
    x = scorer.preprocess(grey)
    assert x.shape == (2, 3, 32, 32)
    assert x.abs().max() < 1e-4  # the configured mean maps to zero


def test_env_var_points_a_registered_reward_at_local_weights(tiny_clip, monkeypatch):
    monkeypatch.setenv("PARETOSLIDER_CLIP", tiny_clip)
    assert build_reward("clip_score", device="cpu")(images(2), PROMPTS[:2]).shape == (2,)


@pytest.mark.parametrize("name", ["clip_sketch", "pickscore", "clip_sketch_heldout"])
def test_missing_weights_raise_one_clear_error(name):
    reward = build_reward(name, model="nonexistent-org/nonexistent-clip", device="cpu")
    with pytest.raises(MissingWeightsError, match="nonexistent-org/nonexistent-clip") as info:
        reward(images(1), ["a cat"])
    assert "HF_HOME" in str(info.value) and isinstance(info.value, FileNotFoundError)


def test_building_a_reward_loads_nothing():
    reward = build_reward("pickscore", model="nonexistent-org/x")  # ranges are read this way
    assert reward.range == (17.0, 24.0) and "pickscore" in REWARDS
